job "typo" {
  datacenters = ["*"]

  group "web" {
    task "api" {
      driver = "dokcer"

      config {
        image = "busybox"
      }
    }
  }
}
