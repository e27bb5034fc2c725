# Contextual values: packer.version is tsimg's version; build.ID is filled in while the build runs (case 25).
source "qemu" "version" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  ssh_username     = "root"
  ssh_password     = "pw-7Kq"
  shutdown_command = "poweroff"
}

build {
  sources = ["source.qemu.version"]
  provisioner "shell" {
    environment_vars = ["PACKER_VERSION=${packer.version}", "BUILD_ID=${build.ID}"]
    inline           = ["echo $PACKER_VERSION > /etc/built-by"]
  }
}
