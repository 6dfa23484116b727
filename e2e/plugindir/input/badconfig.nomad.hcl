job "bad" {
  datacenters = ["*"]

  group "web" {
    task "api" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = [300]
      }
    }
  }
}
