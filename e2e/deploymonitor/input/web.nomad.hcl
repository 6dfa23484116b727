variable "sleep" {
  type    = string
  default = "300"
}

variable "command" {
  type    = string
  default = "/bin/sleep"
}

job "web" {
  update {
    max_parallel      = 2
    min_healthy_time  = "1s"
    healthy_deadline  = "4s"
    progress_deadline = "30s"
    auto_revert       = true
  }

  group "web" {
    count = 2

    task "web" {
      driver = "raw_exec"

      config {
        command = var.command
        args    = [var.sleep]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
