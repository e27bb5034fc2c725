# Windows over WinRM with PowerShell and Windows Update provisioners.
source "qemu" "windows" {
  iso_url        = "../shared/dummy.iso"
  iso_checksum   = "none"
  floppy_files   = ["../shared/floppy/Autounattend.xml"]
  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_password = "pw-7Kq"
  winrm_timeout  = "2h"
  shutdown_command = "shutdown /s /t 10 /f"
}

build {
  sources = ["source.qemu.windows"]
  provisioner "powershell" {
    inline = ["Write-Host hello"]
  }
}
