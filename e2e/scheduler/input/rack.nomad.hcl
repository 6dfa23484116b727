# Two allocations that may run only on nodes whose client meta says rack r2.
job "rack" {
  datacenters = ["*"]

  group "g" {
    count = 2

    constraint {
      attribute = "${meta.rack}"
      value     = "r2"
    }

    task "sleep" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["600"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
