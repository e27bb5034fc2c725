# Two build blocks in one template: a "null" source that prepares files on the host, then
# the image; ${source.name} and ${build.name} in a post-processor.
source "null" "deps" {
  communicator = "none"
}

source "qemu" "image" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  ssh_username     = "root"
  ssh_password     = "pw-7Kq"
  shutdown_command = "poweroff"
}

build {
  name    = "prepare"
  sources = ["source.null.deps"]
  provisioner "shell-local" {
    inline = ["echo prepared"]
  }
}

build {
  name    = "image"
  sources = ["source.qemu.image"]
  provisioner "shell" {
    inline = ["echo ${build.name}"]
  }
  post-processor "shell-local" {
    inline         = ["echo built ${source.name}"]
    inline_shebang = "/bin/bash -e"
  }
}
