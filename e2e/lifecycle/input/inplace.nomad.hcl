variable "build" {
  type    = string
  default = "1"
}

variable "args" {
  type    = list(string)
  default = ["300"]
}

job "inplace" {
  update {
    min_healthy_time = "1s"
    healthy_deadline = "30s"
  }

  meta {
    build = var.build
  }

  group "web" {
    count = 1

    meta {
      group_build = var.build
    }

    task "web" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = var.args
      }

      meta {
        task_build = var.build
      }

      template {
        data        = "build={{ env \"NOMAD_META_build\" }} group={{ env \"NOMAD_META_group_build\" }} task={{ env \"NOMAD_META_task_build\" }}\n"
        destination = "local/meta.txt"
        change_mode = "noop"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
