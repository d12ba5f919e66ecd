/**
 * Pure logic behind the composer's AI assist panel: request bodies from the brief form,
 * Server-Sent Events read from a streamed generation, and putting a variant into the draft.
 */
import type { components } from './api/schema';
import type { ComposerDraft } from './composer';

type Schemas = components['schemas'];

export type GenerateIn = Schemas['GenerateIn'];
export type Generation = Schemas['Generation'];
export type CaptionVariant = Schemas['Variant'];
export type TargetText = Schemas['TargetText'];
export type Rewritten = Schemas['Rewritten'];
export type RewriteAction = Schemas['RewriteAction'];
export type Tone = Schemas['Tone'];
export type BriefLength = Schemas['Length'];
export type CaptionSettings = Schemas['CaptionSettings'];
export type CaptionSettingsUpdate = Schemas['CaptionSettingsUpdate'];
export type ProviderChoice = Schemas['ProviderChoice'];
export type ProviderKind = Schemas['ProviderKind'];
export type Voice = Schemas['Voice'];
export type ConnectionTest = Schemas['ConnectionTest'];

export const TONES: { value: Tone; label: string }[] = [
	{ value: 'friendly', label: 'Friendly' },
	{ value: 'professional', label: 'Professional' },
	{ value: 'witty', label: 'Witty' },
	{ value: 'bold', label: 'Bold' },
	{ value: 'informative', label: 'Informative' }
];

export const LENGTHS: { value: BriefLength; label: string }[] = [
	{ value: 'short', label: 'Short' },
	{ value: 'medium', label: 'Medium' },
	{ value: 'long', label: 'Long' }
];

export const REWRITES: { action: RewriteAction; label: string }[] = [
	{ action: 'shorter', label: 'Shorter' },
	{ action: 'longer', label: 'Longer' },
	{ action: 'formal', label: 'More formal' },
	{ action: 'casual', label: 'More casual' },
	{ action: 'fix_grammar', label: 'Fix grammar' }
];

/** What the person typed into the brief form. */
export interface BriefForm {
	topic: string;
	audience: string;
	tone: Tone;
	length: BriefLength;
	hashtags: number;
	emoji: boolean;
	callToAction: string;
	link: string;
}

export function emptyBrief(): BriefForm {
	return {
		topic: '',
		audience: '',
		tone: 'friendly',
		length: 'medium',
		hashtags: 3,
		emoji: true,
		callToAction: '',
		link: ''
	};
}

/** The body of `POST /captions/generate(/stream)`: the brief, and the accounts to fit. */
export function generateBody(
	brief: BriefForm,
	accountIds: readonly string[],
	options: { postLink?: string; withMedia?: boolean; count?: number } = {}
): GenerateIn {
	const link = (brief.link.trim() || options.postLink?.trim()) ?? '';
	const body: GenerateIn = {
		brief: {
			topic: brief.topic.trim(),
			audience: brief.audience.trim(),
			tone: brief.tone,
			length: brief.length,
			hashtags: Math.max(0, Math.min(30, Math.round(brief.hashtags) || 0)),
			emoji: brief.emoji,
			call_to_action: brief.callToAction.trim()
		},
		account_ids: [...accountIds],
		with_media: options.withMedia ?? false,
		count: options.count ?? 3
	};
	if (link) body.brief.link = link;
	return body;
}

// --- Server-Sent Events --------------------------------------------------------------------

export interface SseEvent {
	event: string;
	data: string;
}

/** Reads an SSE byte stream piece by piece (the spec's rules: `event:`/`data:` lines, blank line ends an event, `:` comments). */
export class SseParser {
	#buffer = '';

	feed(chunk: string): SseEvent[] {
		this.#buffer += chunk.replace(/\r\n?/g, '\n');
		const events: SseEvent[] = [];
		let end = this.#buffer.indexOf('\n\n');
		while (end >= 0) {
			const block = this.#buffer.slice(0, end);
			this.#buffer = this.#buffer.slice(end + 2);
			const parsed = parseBlock(block);
			if (parsed) events.push(parsed);
			end = this.#buffer.indexOf('\n\n');
		}
		return events;
	}
}

function parseBlock(block: string): SseEvent | null {
	let event = 'message';
	const data: string[] = [];
	for (const line of block.split('\n')) {
		if (!line || line.startsWith(':')) continue;
		const colon = line.indexOf(':');
		const field = colon < 0 ? line : line.slice(0, colon);
		let value = colon < 0 ? '' : line.slice(colon + 1);
		if (value.startsWith(' ')) value = value.slice(1);
		if (field === 'event') event = value;
		else if (field === 'data') data.push(value);
	}
	return data.length > 0 ? { event, data: data.join('\n') } : null;
}

// --- Using a variant -------------------------------------------------------------------------

/** The variant's version for one account, if it has one. */
export function versionFor(variant: CaptionVariant, accountId: string): TargetText | undefined {
	return variant.versions.find((v) => v.account_id === accountId);
}

/** Whether any account's version differs from the variant's base text. */
export function hasOwnVersions(variant: CaptionVariant, accountIds: readonly string[]): boolean {
	return accountIds.some((id) => {
		const version = versionFor(variant, id);
		return version !== undefined && version.text !== variant.text;
	});
}

/**
 * Put a variant into the draft: its text becomes the post text; with `perTarget`, every
 * account whose version differs gets it as its own text ("customised").
 */
export function applyVariant(draft: ComposerDraft, variant: CaptionVariant, perTarget: boolean): void {
	draft.text = variant.text;
	if (!perTarget) return;
	for (const target of draft.targets) {
		const version = versionFor(variant, target.accountId);
		if (version === undefined) continue;
		target.customise = version.text !== variant.text;
		target.text = target.customise ? version.text : '';
	}
}

/** Adapted versions (from `POST /captions/adapt`) as each account's own text. */
export function applyVersions(draft: ComposerDraft, versions: readonly TargetText[]): number {
	let changed = 0;
	for (const target of draft.targets) {
		const version = versions.find((v) => v.account_id === target.accountId);
		if (!version) continue;
		target.customise = version.text !== draft.text;
		target.text = target.customise ? version.text : '';
		if (target.customise) changed++;
	}
	return changed;
}

/** "Built-in assistant" or "llama3.2 (your model server)". */
export function providerLabel(kind: ProviderKind, model: string | null | undefined): string {
	if (kind === 'offline') return 'the built-in assistant';
	return model ? `${model}` : 'your model server';
}

/** Style names the offline assistant uses, for people. */
export function styleLabel(style: string): string {
	const labels: Record<string, string> = {
		announcement: 'Announcement',
		question: 'Opens with a question',
		story: 'Behind the scenes',
		list: 'List',
		direct: 'Straight to the point',
		essentials: 'The short version',
		model: 'Model'
	};
	return labels[style] ?? style;
}

/** Comma- or line-separated words from a settings field. */
export function splitWords(text: string): string[] {
	return [
		...new Set(
			text
				.split(/[,\n]/)
				.map((w) => w.trim().replace(/^#/, ''))
				.filter(Boolean)
		)
	];
}

/** Example posts, one per block separated by a line of three dashes. */
export function splitExamples(text: string): string[] {
	return text
		.split(/^\s*---\s*$/m)
		.map((e) => e.trim())
		.filter(Boolean);
}

export function joinExamples(examples: readonly string[]): string {
	return examples.join('\n---\n');
}

/** A part of the post text the person selected; null or empty means "all of it". */
export interface TextSelection {
	start: number;
	end: number;
}

/** What a rewrite works on: the selected part, or the whole text when nothing (or everything) is selected. */
export function rewriteSource(text: string, selection: TextSelection | null): { source: string; partial: boolean } {
	if (!selection) return { source: text, partial: false };
	const start = Math.max(0, Math.min(selection.start, selection.end));
	const end = Math.min(text.length, Math.max(selection.start, selection.end));
	if (end <= start || (start === 0 && end === text.length) || !text.slice(start, end).trim()) {
		return { source: text, partial: false };
	}
	return { source: text.slice(start, end), partial: true };
}

/** `text` with the selected part replaced by its rewrite. */
export function spliceSelection(text: string, selection: TextSelection, replacement: string): string {
	const start = Math.min(selection.start, selection.end);
	const end = Math.max(selection.start, selection.end);
	return text.slice(0, start) + replacement + text.slice(end);
}
