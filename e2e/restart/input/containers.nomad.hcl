variable "docker_image" {
  type = string
}

variable "containerd_image" {
  type = string
}

job "containers" {
  datacenters = ["*"]

  group "d" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "docker" {
      driver = "docker"

      config {
        image   = var.docker_image
        command = "/bin/sleep"
        args    = ["600"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }

  group "c" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "containerd" {
      driver = "containerd"

      config {
        image   = var.containerd_image
        command = "/bin/sleep"
        args    = ["600"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
