# An exec task that grows past its memory limit: the kernel kills it and
# its Terminated event says "OOM Killed".
job "oom" {
  type = "batch"

  group "oom" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "hog" {
      driver = "exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"]
      }

      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
