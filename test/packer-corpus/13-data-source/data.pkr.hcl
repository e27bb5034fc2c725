# A data source feeding a local (the host's OS picks the accelerator).
data "host-info" "this" {}

locals {
  accelerator = data.host-info.this.os_type == "darwin" ? "hvf" : "kvm"
}

source "qemu" "data" {
  accelerator      = local.accelerator
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  ssh_username     = "root"
  ssh_password     = "pw-7Kq"
  shutdown_command = "poweroff"
}

build {
  sources = ["source.qemu.data"]
}
