// A yes/no question on the terminal, for the offers a command makes only when a person is there.
import type { CliContext } from './context.js';

/** Asks on stderr and reads one line from stdin; anything but y/yes is no. */
export async function askYesNo(context: CliContext, question: string): Promise<boolean> {
  const { stdin, stderr } = context;
  stderr.write(`${question} [y/N] `);
  stdin.resume();
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      finish();
      resolve(text.slice(0, newline));
    };
    const onEnd = () => {
      finish();
      resolve(text);
    };
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    };
    stdin.on('data', onData);
    stdin.on('end', onEnd);
  });
  return /^\s*y(es)?\s*$/i.test(answer);
}
