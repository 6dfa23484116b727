# Needs 3000 MHz in one allocation: more than the first clients have.
job "big" {
  datacenters = ["*"]

  group "g" {
    task "sleep" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["600"]
      }

      resources {
        cpu    = 3000
        memory = 128
      }
    }
  }
}
