variable "bin" {
  type = string
}

variable "upstream_port" {
  type = number
}

job "front" {
  datacenters = ["*"]

  group "front" {
    count = 2

    network {
      port "http" {}
    }

    service {
      name     = "front"
      provider = "nomad"
      port     = "http"

      connect {
        sidecar_service {
          proxy {
            upstreams {
              destination_name = "backend"
              local_bind_port  = var.upstream_port
            }
          }
        }
      }
    }

    task "pinger" {
      driver = "raw_exec"

      config {
        command = var.bin
        args    = ["-addr", "${NOMAD_IP_http}:${NOMAD_PORT_http}", "-name", "front-${NOMAD_ALLOC_INDEX}", "-upstream", "${NOMAD_UPSTREAM_ADDR_backend}"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
