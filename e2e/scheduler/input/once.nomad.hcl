# A sysbatch job: runs to completion once on every client.
job "once" {
  datacenters = ["*"]
  type        = "sysbatch"

  group "g" {
    task "true" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 1"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
