/**
 * Who signs: a browser wallet (any EIP-1193 provider at `window.ethereum`), or, on a local devnet
 * only, one of Hardhat's well-known development accounts or a pasted private key. A dev key signs
 * in the page and sends the raw transaction through the bridge; nothing is kept.
 */
import {
  createWalletClient,
  custom,
  getAddress,
  isHex,
  type Address,
  type Chain,
  type EIP1193Provider,
  type Hex,
  type Transport,
  type WalletClient,
} from "viem";

/** Hardhat's public development mnemonic: its accounts hold test ETH on every local Hardhat chain. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
/** How many of its accounts the dashboard offers. */
export const DEV_ACCOUNTS = 20;

export interface Signer {
  kind: "wallet" | "dev";
  address: Address;
  label: string;
  walletClient: WalletClient;
}

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export function hasInjectedWallet(): boolean {
  return typeof window !== "undefined" && window.ethereum !== undefined;
}

/** Asks the browser wallet for an account and checks (or switches to) the deployment's chain. */
export async function connectWallet(chain: Chain): Promise<Signer> {
  const provider = window.ethereum;
  if (!provider) throw new Error("no browser wallet found (no EIP-1193 provider at window.ethereum)");
  const accounts = (await provider.request({ method: "eth_requestAccounts" })) as string[];
  if (!accounts.length) throw new Error("the wallet shared no account");
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  if (chainId !== chain.id) {
    try {
      await provider.request({
        method: "wallet_switchEthereumChain",
        params: [{ chainId: `0x${chain.id.toString(16)}` }],
      });
    } catch {
      throw new Error(
        `the wallet is on chain ${chainId}, this deployment is on chain ${chain.id}: switch the wallet to chain ${chain.id}`,
      );
    }
  }
  const address = getAddress(accounts[0]!);
  return {
    kind: "wallet",
    address,
    label: "browser wallet",
    walletClient: createWalletClient({ account: address, chain, transport: custom(provider) }),
  };
}

/** Dev account `index` of the Hardhat mnemonic (derived in the page; viem's HD code loads on demand). */
export async function connectDevAccount(chain: Chain, transport: Transport, index: number): Promise<Signer> {
  const { mnemonicToAccount } = await import("viem/accounts");
  const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
  return {
    kind: "dev",
    address: account.address,
    label: `dev account #${index}`,
    walletClient: createWalletClient({ account, chain, transport }),
  };
}

/** A pasted private key (devnets only). */
export async function connectPrivateKey(chain: Chain, transport: Transport, key: string): Promise<Signer> {
  const hex = (key.trim().startsWith("0x") ? key.trim() : `0x${key.trim()}`) as Hex;
  if (!isHex(hex) || hex.length !== 66)
    throw new Error("the private key must be 0x and 64 hex digits (the value is not shown)");
  const { privateKeyToAccount } = await import("viem/accounts");
  const account = privateKeyToAccount(hex);
  return {
    kind: "dev",
    address: account.address,
    label: "pasted key",
    walletClient: createWalletClient({ account, chain, transport }),
  };
}
