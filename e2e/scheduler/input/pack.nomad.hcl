# One allocation of 300 MHz; the test runs copies named pack-1, pack-2, ...
# to watch bin-packing fill one node before the next.
job "pack" {
  datacenters = ["*"]

  group "g" {
    task "sleep" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = ["600"]
      }

      resources {
        cpu    = 300
        memory = 64
      }
    }
  }
}
