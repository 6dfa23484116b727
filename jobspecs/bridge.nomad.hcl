# Bridge networking: the group gets a network namespace of its own, shared
# by its tasks like the containers of a pod. The exec task serves HTTP on
# the namespace's port 8080; the raw_exec task reads it from 127.0.0.1.
# The host (and other hosts) reach the server at the node's address on the
# allocated host port, which is forwarded to 8080. Needs a root client with
# iproute2 and iptables, and busybox on the host; see docs/networking.md.
job "pod" {
  datacenters = ["*"]

  group "pod" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }

    task "server" {
      driver = "exec"

      config {
        command = "/bin/sh"
        args = ["-c", <<-EOT
          mkdir -p "$NOMAD_TASK_DIR/www"
          echo "hello from $NOMAD_ALLOC_IP_http:$NOMAD_ALLOC_PORT_http" > "$NOMAD_TASK_DIR/www/index.html"
          exec busybox httpd -f -p 8080 -h "$NOMAD_TASK_DIR/www"
        EOT
        ]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }

    task "client" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = ["-c", <<-EOT
          until busybox wget -q -O "$NOMAD_ALLOC_DIR/data/got" http://127.0.0.1:8080/; do sleep 0.2; done
          cat /proc/net/dev > "$NOMAD_ALLOC_DIR/data/interfaces"
          exec sleep 3600
        EOT
        ]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
