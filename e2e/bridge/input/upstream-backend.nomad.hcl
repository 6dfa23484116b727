# The "backend" service in two instances, one per network mode: the proxy
# dials the host-mode one at the node's address and the bridge-mode one at
# its mapped host port.
variable "bin" {
  type = string
}

job "backend" {
  datacenters = ["*"]

  group "host" {
    network {
      port "http" {}
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
        args    = ["-addr", "${NOMAD_IP_http}:${NOMAD_PORT_http}", "-name", "host-backend"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }

  group "bridge" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
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
        args    = ["-addr", "0.0.0.0:${NOMAD_PORT_http}", "-name", "bridge-backend"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
