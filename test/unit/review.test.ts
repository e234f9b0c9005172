import {
  maskNote,
  reviewTrigger,
  senderSignature,
  templateOf,
  type ReviewPolicy,
} from '../../domain/review';
import { CODE_MASK } from '../../domain/masking';

const policy = (p: Partial<ReviewPolicy> = {}): ReviewPolicy => ({
  sampleRate: 0,
  firstNNewSignature: 0,
  firstNNewTemplate: 0,
  flagPhrases: [],
  mode: 'pre_send',
  slaSeconds: 60,
  defaultDecision: 'approve',
  ...p,
});
const facts = {
  templateSeen: 100,
  signatureSeen: 100,
  maskedBody: 'Your code is ••••',
  random: 0.5,
};

describe('reviewTrigger', () => {
  test('no rule matches: not reviewed', () => {
    expect(reviewTrigger(policy(), facts)).toBeUndefined();
  });

  test('sampling compares the random draw with the rate', () => {
    expect(reviewTrigger(policy({ sampleRate: 0.6 }), facts)).toBe('sampled');
    expect(reviewTrigger(policy({ sampleRate: 0.5 }), facts)).toBeUndefined();
    expect(reviewTrigger(policy({ sampleRate: 1 }), { ...facts, random: 0.999999 })).toBe(
      'sampled',
    );
  });

  test('the first N messages of a new signature or template are always reviewed, the N+1th is not', () => {
    const p = policy({ firstNNewSignature: 3, firstNNewTemplate: 2 });
    expect(reviewTrigger(p, { ...facts, signatureSeen: 3 })).toBe('new_signature');
    expect(reviewTrigger(p, { ...facts, signatureSeen: 4 })).toBeUndefined();
    expect(reviewTrigger(p, { ...facts, templateSeen: 2 })).toBe('new_template');
    expect(reviewTrigger(p, { ...facts, templateSeen: 3 })).toBeUndefined();
    // A body without a signature only counts its template.
    expect(reviewTrigger(p, { ...facts, signatureSeen: undefined })).toBeUndefined();
  });

  test('flagged phrases match the masked body, case-insensitively', () => {
    const p = policy({ flagPhrases: ['Bitcoin', '  '] });
    expect(reviewTrigger(p, { ...facts, maskedBody: 'Send BITCOIN now' })).toBe('flagged');
    expect(reviewTrigger(p, facts)).toBeUndefined();
  });
});

describe('senderSignature and templateOf', () => {
  test('a bracketed brand at the start or end, or a leading Brand: prefix', () => {
    expect(senderSignature('【招商银行】您的验证码是123456')).toBe('【招商银行】');
    expect(senderSignature('您的验证码是123456【京东】')).toBe('【京东】');
    expect(senderSignature('[Acme] Your code is 123456')).toBe('[Acme]');
    expect(senderSignature('ACME Bank: your code is 123456')).toBe('ACME Bank');
    expect(senderSignature('your code is 123456')).toBeUndefined();
  });

  test('templates ignore codes and numbers, and never contain a digit', () => {
    const a = templateOf('Your code is 123456. Valid for 10 minutes.');
    const b = templateOf('Your code is 987654. Valid for 15 minutes.');
    expect(a).toBe(b);
    expect(a).not.toMatch(/[0-9]/);
    expect(templateOf('Call +44 7400 123456 now')).not.toMatch(/[0-9]/);
  });
});

describe('maskNote', () => {
  test('codes and phone numbers in a reviewer note are masked, the rest kept', () => {
    const note = maskNote('code 482913 went to +447400123456, looks fine');
    expect(note).not.toContain('482913');
    expect(note).not.toContain('7400123456');
    expect(note).toContain(CODE_MASK);
    expect(note).toContain('looks fine');
    expect(maskNote(undefined)).toBe('');
  });
});
