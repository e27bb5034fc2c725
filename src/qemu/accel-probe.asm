; tsimg accelerator probe firmware: a 64 KiB BIOS image (nasm -f bin -DSTAGE32=2).
; Real mode -> protected mode -> long mode with paging, then writes 1 to port 0xf4.
; QEMU's isa-debug-exit turns value v into exit status (v<<1)|1, so exit status 3
; proves that the accelerator ran a guest through the mode switches every kernel makes.
; (Seen on hosts with a broken /dev/kvm: real-mode code runs, and entering protected mode hangs.)
BITS 16
ORG 0xF0000
start16:
    cli
    xor ax, ax
    mov ds, ax
    ; build identity page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD, 2 MiB pages)
    mov es, ax
    mov di, 0x1000
    mov cx, 0x1800
    xor ax, ax
    rep stosw
    mov dword [0x1000], 0x2003
    mov dword [0x2000], 0x3003
    mov dword [0x3000], 0x0083
    o32 lgdt [cs:gdt_desc - 0xF0000]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:start32
BITS 32
start32:
    mov ax, 0x10
    mov ds, ax
    mov ss, ax
    mov esp, 0x7000
    mov al, STAGE32
    cmp al, 1
    je done32
    mov eax, cr4
    or eax, 1 << 5          ; PAE
    mov cr4, eax
    mov eax, 0x1000
    mov cr3, eax
    mov ecx, 0xC0000080     ; EFER
    rdmsr
    or eax, 1 << 8          ; LME
    wrmsr
    mov eax, cr0
    or eax, 1 << 31         ; PG
    mov cr0, eax
    jmp 0x18:start64
done32:
    mov al, 1
    out 0xf4, al
    hlt
BITS 64
start64:
    mov al, 1
    out 0xf4, al
    hlt
    jmp start64
ALIGN 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF   ; 0x08 code32
    dq 0x00CF92000000FFFF   ; 0x10 data
    dq 0x00AF9A000000FFFF   ; 0x18 code64
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt
    times 0xFFF0 - ($ - $$) db 0xF4
BITS 16
reset:
    jmp 0xF000:start16 - 0xF0000
    times 0x10000 - ($ - $$) db 0xF4
