/**
 * One hypervisor's guests, whatever drives them (virsh, xl, Hyper-V's PowerShell, a simulation).
 * Drivers speak their tool's text; the VM adapter above them keeps state, polls and verifies.
 */
import { BlackstartError, toBlackstartError } from '../../core/errors';
import type { VmPower } from '../../core/state';

export interface GuestListing {
  /** The guest's name on the hypervisor. */
  name: string;
  state: VmPower;
  /** Kept after a crash (libvirt `crashed`, xl's `c`): reads off, but still holds its name. */
  crashed?: true;
}

/** What a driver needs to know of one guest, beyond its name. */
export interface GuestSpec {
  /** The guest's name on the hypervisor. */
  name: string;
  /** Xen: the domain's config file, for `xl create` when there is no saved image to restore. */
  config?: string;
  /** As the last listing said: a start destroys the remains first, or the name stays taken. */
  crashed?: true;
}

export interface Hypervisor {
  /**
   * Whether `list()` names every guest the hypervisor has, stopped ones included (libvirt, Hyper-V).
   * Then a configured guest missing from it does not exist there; otherwise (xl) it is off.
   */
  readonly listsAll: boolean;
  /** For logs and errors, never with a secret: `libvirt qemu:///system over ssh root@hv1:22`. */
  describe(): string;
  /**
   * Every guest the hypervisor knows, with its state (for xl: the running ones and those with a
   * saved image). Rejects with a BlackstartError (UNREACHABLE, TIMEOUT, PROTOCOL).
   */
  list(): Promise<GuestListing[]>;
  /** Asks the guest's OS to shut down; resolves once the hypervisor accepted the request. */
  shutdown(guest: GuestSpec): Promise<void>;
  /** Saves the guest's memory to disk and stops it; resolves when the save is done. */
  save(guest: GuestSpec): Promise<void>;
  /** Hard stop, like pulling the plug. */
  off(guest: GuestSpec): Promise<void>;
  /** Starts the guest, from its saved image when it has one. */
  start(guest: GuestSpec): Promise<void>;
  /** Ends any session or child process; the driver may not be used afterwards. */
  close(): Promise<void>;
}

/** Runs a codec step (quoting a name, parsing a listing); its error comes out naming the hypervisor. */
export function at<T>(where: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    const e = toBlackstartError(err);
    throw new BlackstartError(e.code, `${where}: ${e.message}`, { cause: err });
  }
}
