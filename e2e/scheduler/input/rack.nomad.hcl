# Two allocations that may run only on nodes whose client meta says rack r2.
# They are small enough (2 x 40 MHz) to fit even when the r2 client is the
# one the pack jobs filled first (900 of its 1000 MHz used).
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
        cpu    = 40
        memory = 64
      }
    }
  }
}
