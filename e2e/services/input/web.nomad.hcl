job "web" {
  datacenters = ["*"]

  group "web" {
    network {
      port "http" {}
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "1s"
      mode     = "delay"
    }

    task "httpd" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = ["-c", <<-EOT
          mkdir -p "$NOMAD_TASK_DIR/www"
          echo ok > "$NOMAD_TASK_DIR/www/index.html"
          /bin/busybox httpd -f -p "$NOMAD_PORT_http" -h "$NOMAD_TASK_DIR/www" &
          echo $! > "$NOMAD_TASK_DIR/httpd.pid"
          wait
          exec /bin/sleep 3600
        EOT
        ]
      }

      service {
        name     = "web"
        provider = "nomad"
        port     = "http"
        tags     = ["e2e", "http"]

        check {
          type     = "http"
          path     = "/index.html"
          interval = "1s"
          timeout  = "1s"

          check_restart {
            limit = 3
            grace = "2s"
          }
        }
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
