# Constraints restrict placement, affinities prefer, spread balances.
job "placed" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  affinity {
    attribute = "${node.class}"
    value     = "fast"
    weight    = 50
  }

  spread {
    attribute = "${node.datacenter}"
    weight    = 100
  }

  group "app" {
    count = 4

    constraint {
      distinct_hosts = true
    }

    task "app" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 10; done"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
