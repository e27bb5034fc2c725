# UEFI: efi_boot with the firmware named, on a q35 machine, and a GRUB command line typed
# at the "c" prompt.
source "qemu" "efi" {
  machine_type      = "q35"
  efi_boot          = true
  efi_firmware_code = "/usr/share/OVMF/OVMF_CODE_4M.fd"
  efi_firmware_vars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
  efi_drop_efivars  = false
  iso_url           = "../shared/dummy.iso"
  iso_checksum      = "file:../shared/SHA256SUMS"
  http_directory    = "../shared/http"
  boot_wait         = "10s"
  boot_command = [
    "c<wait>",
    "linux /casper/vmlinuz autoinstall ds='nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/'",
    "<enter><wait5s>initrd /casper/initrd<enter><wait5s>boot<enter>",
  ]
  cpus             = 2
  memory           = 2048
  ssh_username     = "ubuntu"
  ssh_password     = "pw-7Kq"
  shutdown_command = "sudo -S poweroff"
}

build {
  sources = ["source.qemu.efi"]
  provisioner "shell" {
    inline = ["true"]
  }
}
