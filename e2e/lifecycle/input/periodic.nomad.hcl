job "tick" {
  type = "batch"

  periodic {
    # Seven fields: seconds first, so the job fires every two seconds.
    crons            = ["*/2 * * * * * *"]
    time_zone        = "UTC"
    prohibit_overlap = false
  }

  group "tick" {
    task "tick" {
      driver = "raw_exec"

      config {
        command = "/bin/echo"
        args    = ["tick"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
