/**
 * The networks PostWizard publishes to, as the UI shows them. The identifiers come from the
 * generated schema; labels match the backend's `Network.label`.
 */
import type { components } from './api/schema';

export type Network = components['schemas']['Network'];

export const NETWORKS = [
	'sandbox',
	'mastodon',
	'bluesky',
	'x',
	'facebook',
	'instagram',
	'threads',
	'linkedin',
	'telegram',
	'discord'
] as const satisfies readonly Network[];

// A compile-time check that the list above names every network in the schema.
type Missing = Exclude<Network, (typeof NETWORKS)[number]>;
const _allListed: Missing extends never ? true : never = true;
void _allListed;

const LABELS: Record<Network, string> = {
	sandbox: 'Sandbox',
	mastodon: 'Mastodon',
	bluesky: 'Bluesky',
	x: 'X',
	facebook: 'Facebook',
	instagram: 'Instagram',
	threads: 'Threads',
	linkedin: 'LinkedIn',
	telegram: 'Telegram',
	discord: 'Discord'
};

/** Short marks for badges (no brand logos). */
const MARKS: Record<Network, string> = {
	sandbox: 'SB',
	mastodon: 'M',
	bluesky: 'BS',
	x: 'X',
	facebook: 'f',
	instagram: 'IG',
	threads: '@',
	linkedin: 'in',
	telegram: 'TG',
	discord: 'DC'
};

export function isNetwork(value: string): value is Network {
	return (NETWORKS as readonly string[]).includes(value);
}

/** "LinkedIn" for `linkedin`; unknown identifiers are shown as they are. */
export function networkLabel(network: string): string {
	return isNetwork(network) ? LABELS[network] : network;
}

export function networkMark(network: string): string {
	return isNetwork(network) ? MARKS[network] : network.slice(0, 2).toUpperCase();
}

/**
 * How a handle is written on a network: `@name` on most, as given where the handle is
 * already fully qualified (`@name@instance`, `name.bsky.social`) or not an @-handle at all.
 */
export function formatHandle(network: string, handle: string): string {
	const h = handle.trim();
	if (!h) return '';
	if (h.startsWith('@')) return h;
	if (network === 'linkedin' || network === 'facebook' || network === 'discord') return h;
	return `@${h}`;
}
