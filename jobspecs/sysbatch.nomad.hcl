# A sysbatch job runs once to completion on every eligible client.
job "inventory" {
  type = "sysbatch"

  group "inventory" {
    task "uname" {
      driver = "raw_exec"

      config {
        command = "/bin/uname"
        args    = ["-a"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
