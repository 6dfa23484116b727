# A Redis container with a dynamic host port mapped to 6379.
variable "image" {
  type    = string
  default = "redis:7-alpine"
}

job "cache" {
  group "cache" {
    count = 1

    network {
      port "db" {
        to = 6379
      }
    }

    service {
      name     = "cache"
      port     = "db"
      provider = "nomad"

      check {
        type     = "tcp"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "redis" {
      driver = "docker"

      config {
        image = var.image
        ports = ["db"]
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
