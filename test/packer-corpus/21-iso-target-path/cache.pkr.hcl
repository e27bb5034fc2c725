# Packer's download cache location, set per template.
source "qemu" "cache" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  iso_target_path  = "packer_cache/dummy.iso"
  ssh_username     = "root"
  ssh_password     = "pw-7Kq"
  shutdown_command = "poweroff"
}

build {
  sources = ["source.qemu.cache"]
}
