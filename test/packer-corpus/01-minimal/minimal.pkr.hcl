# The smallest useful template: one qemu source, one build, an inline shell provisioner.
source "qemu" "minimal" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  boot_command     = ["<tab> inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>"]
  http_directory   = "../shared/http"
  ssh_username     = "root"
  ssh_password     = "pw-7Kq"
  shutdown_command = "poweroff"
}

build {
  sources = ["source.qemu.minimal"]
  provisioner "shell" {
    inline = ["echo hello"]
  }
}
