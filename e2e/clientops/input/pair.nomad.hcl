job "pair" {
  datacenters = ["*"]

  group "pair" {
    task "a" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-usr1' USR1; while true; do sleep 0.2; done"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }

    task "b" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-usr1' USR1; while true; do sleep 0.2; done"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
