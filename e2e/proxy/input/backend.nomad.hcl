variable "bin" {
  type = string
}

job "backend" {
  datacenters = ["*"]

  group "backend" {
    count = 3

    network {
      port "http" {}
    }

    restart {
      attempts = 3
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    service {
      name     = "backend"
      provider = "nomad"
      port     = "http"

      check {
        type     = "http"
        path     = "/health"
        interval = "1s"
        timeout  = "1s"
      }
    }

    task "pinger" {
      driver = "raw_exec"

      config {
        command = var.bin
        args    = ["-addr", "${NOMAD_IP_http}:${NOMAD_PORT_http}", "-name", "${NOMAD_ALLOC_ID}", "-piddir", "${NOMAD_TASK_DIR}"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
