# Two bridge-mode "front" allocations, each with the upstream "backend" at
# 127.0.0.1:<upstream_port> in its own namespace; each request to a front
# is answered after a request through that upstream.
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
      mode = "bridge"
      port "http" {
        to = 8080
      }
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
        args    = ["-addr", "0.0.0.0:${NOMAD_PORT_http}", "-name", "front-${NOMAD_ALLOC_INDEX}", "-upstream", "${NOMAD_UPSTREAM_ADDR_backend}"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
