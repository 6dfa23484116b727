# A bridge-mode group with a mapped port whose task only sleeps.
job "sleeper" {
  datacenters = ["*"]

  group "sleeper" {
    network {
      mode = "bridge"
      port "http" {
        to = 9000
      }
    }

    task "sleep" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
