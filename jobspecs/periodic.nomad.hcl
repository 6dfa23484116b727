# A periodic batch job: the server launches a child job on the schedule.
job "cleanup" {
  type = "batch"

  periodic {
    crons            = ["*/15 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "cleanup" {
    task "cleanup" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo cleaning up at $(date)"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
