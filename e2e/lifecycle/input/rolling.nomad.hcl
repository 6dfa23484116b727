variable "sleep" {
  type    = string
  default = "300"
}

job "roll" {
  update {
    max_parallel      = 1
    min_healthy_time  = "2s"
    healthy_deadline  = "30s"
    progress_deadline = "1m"
    auto_revert       = true
  }

  group "web" {
    count = 4

    task "web" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = [var.sleep]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
