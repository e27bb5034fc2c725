# One build over several sources: two qemu sources (BIOS and UEFI) and a non-qemu one that
# tsimg skips with a warning; provisioners and post-processors limited by only/except, and
# a build-level source block that overrides a setting.
locals {
  boot_command = ["<tab> inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg<enter>"]
}

source "qemu" "bios" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  http_directory   = "../shared/http"
  boot_command     = local.boot_command
  ssh_username     = "vagrant"
  ssh_password     = "vagrant"
  shutdown_command = "sudo -S poweroff"
}

source "qemu" "uefi" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  http_directory   = "../shared/http"
  boot_command     = local.boot_command
  machine_type     = "q35"
  efi_boot         = true
  ssh_username     = "vagrant"
  ssh_password     = "vagrant"
  shutdown_command = "sudo -S poweroff"
}

source "virtualbox-iso" "bios" {
  guest_os_type = "Ubuntu_64"
  iso_url       = "../shared/dummy.iso"
  iso_checksum  = "none"
  ssh_username  = "vagrant"
}

build {
  name    = "multi"
  sources = ["source.qemu.bios", "source.virtualbox-iso.bios"]

  source "source.qemu.uefi" {
    name   = "uefi-large"
    memory = 4096
  }

  provisioner "shell" {
    inline = ["echo everywhere"]
  }

  provisioner "shell" {
    inline = ["echo uefi only"]
    only   = ["qemu.uefi-large"]
  }

  provisioner "shell" {
    inline = ["echo not on virtualbox"]
    except = ["virtualbox-iso.bios"]
  }

  post-processor "checksum" {
    checksum_types = ["sha256"]
    except         = ["qemu.uefi-large"]
  }
}
