# A system job: one allocation on every client, those that join later too.
job "everywhere" {
  datacenters = ["*"]
  type        = "system"

  group "g" {
    task "sleep" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["600"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
