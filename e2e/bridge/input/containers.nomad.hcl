# A docker task and a containerd task in one network namespace, which the
# docker driver's pause container holds: the docker task serves HTTP on
# port 8080, the containerd task reads it from 127.0.0.1.
variable "docker_image" {
  type = string
}

variable "containerd_image" {
  type = string
}

job "containers" {
  datacenters = ["*"]

  group "containers" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }

    task "web" {
      driver = "docker"

      config {
        image   = var.docker_image
        command = "/bin/sh"
        args = ["-c", <<-EOT
          mkdir -p /www
          echo "hello from docker at $NOMAD_ALLOC_IP_http" > /www/index.html
          exec httpd -f -p 8080 -h /www
        EOT
        ]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }

    task "fetch" {
      driver = "containerd"

      config {
        image   = var.containerd_image
        command = "/bin/sh"
        args = ["-c", <<-EOT
          until wget -q -O /alloc/data/got http://127.0.0.1:8080/; do sleep 0.2; done
          exec sleep 3600
        EOT
        ]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
