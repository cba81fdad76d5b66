/**
 * The I2C byte transport of the PCA9685 driver, and its Linux implementation: the i2c-dev
 * interface (`/dev/i2c-N`) driven through libc with Deno FFI: `open(2)`, the `I2C_SLAVE`
 * `ioctl(2)` that selects the device address, and `write(2)` of register bytes.
 *
 * @module
 */

/** An I2C bus: sends write transactions to 7-bit addresses. */
export interface I2cBus {
  /** Writes `bytes` to the device at `address` as one transaction (START, bytes, STOP). */
  write(address: number, bytes: Uint8Array): void;
  /** Releases the bus. Idempotent. */
  close(): void;
}

/** `ioctl` request that sets the slave address of an i2c-dev file (linux/i2c-dev.h). */
export const I2C_SLAVE = 0x0703;
const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;

const ERRNO_HINTS: Readonly<Record<number, string>> = {
  1: "EPERM: not permitted",
  2: "ENOENT: no such device; load i2c-dev (modprobe i2c-dev) and check the bus number",
  5: "EIO: the transfer failed; check wiring and power of the PCA9685",
  6: "ENXIO: no device answered at that address; check MOVEMENT_I2C_ADDRESS and wiring",
  13: "EACCES: permission denied; add the user to the i2c group or fix the udev rule",
  16: "EBUSY: the address is claimed by a kernel driver",
  19: "ENODEV: no such device",
  25: "ENOTTY: not an I2C adapter (the path is not an i2c-dev character device)",
  121: "EREMOTEIO: the device did not acknowledge; check wiring and MOVEMENT_I2C_ADDRESS",
};

/** An I2C failure with the errno and a hint on what to check. */
export class I2cError extends Error {
  /** The errno of the failed call. */
  readonly errno: number;
  /** Creates the error. */
  constructor(what: string, path: string, errno: number) {
    const hint = ERRNO_HINTS[errno] ?? `errno ${errno}`;
    super(`I2C ${what} on ${path} failed: ${hint}`);
    this.name = "I2cError";
    this.errno = errno;
  }
}

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/** The libc shared object the bus loads (glibc on Debian / Armbian / Orange Pi OS). */
export const LIBC_PATH = "libc.so.6";

/**
 * `/dev/i2c-N` through i2c-dev. Needs `--allow-ffi` (the file is opened by libc, so Deno's
 * read/write permissions do not apply) and read/write access to the device node.
 */
export class LinuxI2cBus implements I2cBus {
  readonly #libc: Libc;
  readonly #path: string;
  #fd: number;
  #address = -1;

  private constructor(libc: Libc, path: string, fd: number) {
    this.#libc = libc;
    this.#path = path;
    this.#fd = fd;
  }

  /** Opens the bus device, e.g. `/dev/i2c-1`. Throws an {@linkcode I2cError} with a hint. */
  static open(path: string): LinuxI2cBus {
    const libc = Deno.dlopen(LIBC_PATH, LIBC_SYMBOLS);
    const cPath = new TextEncoder().encode(`${path}\0`);
    const fd = libc.symbols.open(cPath, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      const errno = readErrno(libc);
      libc.close();
      throw new I2cError("open", path, errno);
    }
    return new LinuxI2cBus(libc, path, fd);
  }

  /** Selects `address` with `I2C_SLAVE` (when it changed) and writes the bytes. */
  write(address: number, bytes: Uint8Array): void {
    if (this.#fd < 0) throw new I2cError("write", this.#path, 9);
    if (address !== this.#address) {
      if (this.#libc.symbols.ioctl(this.#fd, BigInt(I2C_SLAVE), BigInt(address)) < 0) {
        throw new I2cError(
          `ioctl(I2C_SLAVE, 0x${address.toString(16)})`,
          this.#path,
          readErrno(this.#libc),
        );
      }
      this.#address = address;
    }
    const written = Number(this.#libc.symbols.write(this.#fd, bytes, BigInt(bytes.length)));
    if (written < 0) throw new I2cError("write", this.#path, readErrno(this.#libc));
    if (written !== bytes.length) {
      throw new Error(`I2C write on ${this.#path} sent ${written} of ${bytes.length} bytes`);
    }
  }

  /** Closes the file and unloads libc. */
  close(): void {
    if (this.#fd < 0) return;
    this.#libc.symbols.close(this.#fd);
    this.#fd = -1;
    this.#libc.close();
  }
}

function readErrno(libc: Libc): number {
  const pointer = libc.symbols.__errno_location();
  return pointer === null ? -1 : new Deno.UnsafePointerView(pointer).getInt32();
}
