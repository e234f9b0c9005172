/**
 * The control characters a message body may hold: line feed and carriage return (both in the GSM 03.38
 * default alphabet, and what clients send for a line break) and tab (smart encoding turns it into a
 * space). Every other C0 control, DEL and the C1 controls are refused: a handset shows them as boxes or
 * acts on them (ESC is GSM-7's escape to its extension table), and no legitimate text needs them.
 */
export const ALLOWED_CONTROLS = ['\t', '\n', '\r'] as const;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const REFUSED_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (no `u` flag: code units). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a message body cannot be sent as it is: a refused control character, or a lone surrogate. */
export type TextRefusal = 'control_character' | 'lone_surrogate';

/**
 * Whether `text` can go to a handset unchanged: undefined if so, else why not. A lone surrogate (an
 * escaped `\ud800` in JSON) is not Unicode text; it has no encoding in UCS-2 a handset would render,
 * and encoders replace it silently. Invalid UTF-8 bytes are refused earlier, before parsing.
 */
export function refuseText(text: string): TextRefusal | undefined {
  if (REFUSED_CONTROL.test(text)) return 'control_character';
  if (LONE_SURROGATE.test(text)) return 'lone_surrogate';
  return undefined;
}
