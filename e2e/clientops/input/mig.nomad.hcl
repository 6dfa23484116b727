job "mig" {
  datacenters = ["*"]

  group "mig" {
    count = 3

    migrate {
      max_parallel     = 1
      min_healthy_time = "2s"
      healthy_deadline = "1m"
    }

    task "web" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 0.5; done"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
