/**
 * Connecting accounts: the networks the server offers (`GET /api/v1/networks`), the connect
 * form rendered from their `connect_fields`, and the banner after an OAuth round trip.
 */
import type { components } from './api/schema';
import type { ApiError } from './api/errors';

export type NetworkInfo = components['schemas']['NetworkInfo'];
export type ConnectField = components['schemas']['NetworkConnectField'];
export type ConnectMethod = NetworkInfo['connect'];

/** The sandbox first (the way to try PostWizard), then what can be connected, then the rest. */
export function sortNetworks(networks: readonly NetworkInfo[]): NetworkInfo[] {
	const rank = (n: NetworkInfo) => (n.id === 'sandbox' ? 0 : n.connect === 'unavailable' ? 2 : 1);
	return [...networks].sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label));
}

/** What a picker card says about how the network connects. */
export function connectMethodLabel(network: NetworkInfo): string {
	if (network.connect === 'oauth') return `Sign in on ${network.label}`;
	if (network.connect === 'form') return network.id === 'sandbox' ? 'Simulated network, no sign-in' : 'Enter its details';
	return 'Needs setup';
}

/** The button that sends the connect form. */
export function submitLabel(network: NetworkInfo, reconnecting = false): string {
	if (network.connect === 'oauth') return `Continue to ${network.label}`;
	if (reconnecting) return 'Reconnect';
	return network.id === 'sandbox' ? 'Add sandbox account' : `Connect ${network.label}`;
}

/** Fields the person must fill in but left empty, with the message to show at each. */
export function missingFields(fields: readonly ConnectField[], values: Record<string, string>): Record<string, string> {
	const missing: Record<string, string> = {};
	for (const field of fields) {
		if (field.required && !(values[field.name] ?? '').trim()) missing[field.name] = `${field.label} is required.`;
	}
	return missing;
}

/** Only the filled-in values, trimmed (an empty field is left to the server's default). */
export function filledValues(values: Record<string, string>): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [name, value] of Object.entries(values)) {
		const trimmed = value.trim();
		if (trimmed) out[name] = trimmed;
	}
	return out;
}

export interface ConnectErrors {
	/** Messages by connect field name (from `fields.<name>`). */
	fields: Record<string, string>;
	timezone: string | null;
	/** What to show above the form when no field is at fault (or in addition). */
	form: string | null;
}

/** Split an API error into messages at the form's fields and one for the whole form. */
export function connectErrors(err: ApiError, fieldNames: readonly string[]): ConnectErrors {
	const fields: Record<string, string> = {};
	let timezone: string | null = null;
	let unplaced = false;
	for (const problem of err.fields) {
		const name = problem.field.startsWith('fields.') ? problem.field.slice('fields.'.length) : problem.field;
		if (name === 'timezone') timezone = problem.message;
		else if (fieldNames.includes(name)) fields[name] ??= problem.message;
		else unplaced = true;
	}
	const placed = Object.keys(fields).length > 0 || timezone !== null;
	return { fields, timezone, form: placed && !unplaced ? null : err.message };
}

export interface ReturnBanner {
	kind: 'success' | 'error';
	message: string;
	accountId: string | null;
}

/** The banner for `/accounts?connected=<id>` or `/accounts?error=<message>` (back from a network's sign-in). */
export function returnBanner(params: URLSearchParams): ReturnBanner | null {
	const error = params.get('error');
	if (error) return { kind: 'error', message: error, accountId: null };
	const connected = params.get('connected');
	if (connected) return { kind: 'success', message: 'The account is connected.', accountId: connected };
	return null;
}

/**
 * What must be typed again to reconnect: secrets (never kept for a reconnect) and required
 * addresses, which may carry one (a Discord webhook URL). Other fields keep their value.
 */
export function reconnectFields(fields: readonly ConnectField[]): ConnectField[] {
	return fields.filter((f) => f.kind === 'password' || (f.kind === 'url' && f.required));
}

/** Whether reconnecting needs the person to type something (else it is one click). */
export function reconnectNeedsInput(network: NetworkInfo): boolean {
	return network.connect === 'form' && reconnectFields(network.connect_fields).length > 0;
}
