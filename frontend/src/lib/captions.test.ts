import { describe, expect, it } from 'vitest';
import {
	SseParser,
	applyVariant,
	applyVersions,
	emptyBrief,
	generateBody,
	hasOwnVersions,
	joinExamples,
	splitExamples,
	rewriteSource,
	spliceSelection,
	splitWords,
	type CaptionVariant
} from './captions';
import { emptyDraft, newTarget } from './composer';

function variant(text: string, versions: Record<string, string>): CaptionVariant {
	return {
		index: 0,
		text,
		style: 'question',
		trimmed: false,
		versions: Object.entries(versions).map(([accountId, t]) => ({
			network: 'x',
			account_id: accountId,
			text: t,
			length: { count: t.length, limit: 280 },
			trimmed: false
		}))
	};
}

describe('generateBody', () => {
	it('trims the brief, falls back to the post link and clamps hashtags', () => {
		const brief = { ...emptyBrief(), topic: '  sourdough class  ', hashtags: 99, callToAction: ' Book now ' };
		const body = generateBody(brief, ['a1', 'a2'], { postLink: 'https://example.com/x', withMedia: true });
		expect(body.brief.topic).toBe('sourdough class');
		expect(body.brief.hashtags).toBe(30);
		expect(body.brief.call_to_action).toBe('Book now');
		expect(body.brief.link).toBe('https://example.com/x');
		expect(body.account_ids).toEqual(['a1', 'a2']);
		expect(body.with_media).toBe(true);
		expect(body.count).toBe(3);
	});

	it('sends no link when there is none', () => {
		const body = generateBody({ ...emptyBrief(), topic: 'news' }, []);
		expect('link' in body.brief).toBe(false);
	});
});

describe('SseParser', () => {
	it('reads events split across chunks, with CRLF, comments and multi-line data', () => {
		const parser = new SseParser();
		expect(parser.feed(': ping\r\n\r\nevent: started\r\ndata: {"a"')).toEqual([]);
		expect(parser.feed(':1}\r\n\r\nevent: variant\ndata: line one\ndata: line two\n\n')).toEqual([
			{ event: 'started', data: '{"a":1}' },
			{ event: 'variant', data: 'line one\nline two' }
		]);
		expect(parser.feed('data: plain\n\n')).toEqual([{ event: 'message', data: 'plain' }]);
	});
});

describe('applying a variant', () => {
	it('inserts the base text only', () => {
		const draft = emptyDraft();
		draft.targets = [newTarget('a1')];
		applyVariant(draft, variant('Base', { a1: 'Own' }), false);
		expect(draft.text).toBe('Base');
		expect(draft.targets[0]?.customise).toBe(false);
	});

	it('gives each account its own version when it differs', () => {
		const draft = emptyDraft();
		draft.targets = [newTarget('a1'), newTarget('a2')];
		const v = variant('Base', { a1: 'Long LinkedIn version', a2: 'Base' });
		expect(hasOwnVersions(v, ['a1', 'a2'])).toBe(true);
		expect(hasOwnVersions(v, ['a2'])).toBe(false);
		applyVariant(draft, v, true);
		expect(draft.text).toBe('Base');
		expect(draft.targets.map((t) => [t.customise, t.text])).toEqual([
			[true, 'Long LinkedIn version'],
			[false, '']
		]);
	});

	it('applies adapted versions and counts the changed accounts', () => {
		const draft = emptyDraft();
		draft.text = 'Hello';
		draft.targets = [newTarget('a1'), newTarget('a2')];
		const changed = applyVersions(draft, variant('Hello', { a1: 'Hello', a2: 'Hello!' }).versions);
		expect(changed).toBe(1);
		expect(draft.targets[1]?.text).toBe('Hello!');
	});
});

describe('voice fields', () => {
	it('splits words and example posts', () => {
		expect(splitWords('#Bread, sourdough\nrye, bread ,')).toEqual(['Bread', 'sourdough', 'rye', 'bread']);
		const examples = ['First post', 'Second\npost'];
		expect(splitExamples(joinExamples(examples))).toEqual(examples);
	});
});

describe('rewriting a selection', () => {
	const text = 'Fresh bread today. teh best rye in town!';
	it('rewrites the selected part only', () => {
		const selection = { start: 19, end: 40 };
		expect(rewriteSource(text, selection)).toEqual({ source: 'teh best rye in town!', partial: true });
		expect(spliceSelection(text, selection, 'The best rye in town!')).toBe('Fresh bread today. The best rye in town!');
	});
	it('rewrites everything when nothing, everything or only spaces are selected', () => {
		expect(rewriteSource(text, null).partial).toBe(false);
		expect(rewriteSource(text, { start: 5, end: 5 }).partial).toBe(false);
		expect(rewriteSource(text, { start: 0, end: text.length }).partial).toBe(false);
		expect(rewriteSource('a   b', { start: 1, end: 4 }).partial).toBe(false);
	});
});
