variable "sleep" {
  type    = string
  default = "300"
}

variable "command" {
  type    = string
  default = "/bin/sleep"
}

variable "canary" {
  type    = number
  default = 0
}

variable "healthy_deadline" {
  type    = string
  default = "30s"
}

job "roll" {
  update {
    max_parallel      = 1
    min_healthy_time  = "2s"
    healthy_deadline  = var.healthy_deadline
    progress_deadline = "1m"
    auto_revert       = true
    canary            = var.canary
  }

  group "web" {
    count = 4

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
