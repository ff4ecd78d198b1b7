// Type tests of the generated client (services.ts), checked by `tsc --noEmit`: each line
// after `@ts-expect-error` must NOT type-check (tsc fails on an unused directive), and
// the others must. Nothing here runs.

import {
  CalculatorClient,
  CalcError,
  CalcErrorOverflow,
  HomeClient,
  HomeErrorNoSuchRoom,
  TemperatureTopic,
  type Reading,
  type WampSession,
} from "./services.js";

export async function typeTests(session: WampSession): Promise<void> {
  const calc = new CalculatorClient(session);
  const sum: number = await calc.add(2, 3);
  // @ts-expect-error add takes two numbers, not a string
  await calc.add("2", 3);
  // @ts-expect-error add takes two arguments
  await calc.add(2);
  // @ts-expect-error add answers a number
  const wrong: string = await calc.add(2, 3);
  const total: number = await calc.sum([1, 2, sum]);
  for await (const n of calc.countTo(3)) {
    const counted: number = n;
    void counted;
  }
  // @ts-expect-error progressive results come one by one, not as a list
  for await (const ns of calc.countTo(3)) ns.length;
  // @ts-expect-error sum takes a list of numbers
  await calc.sum(["1"]);

  const home = new HomeClient(session);
  const reading: Reading = await home.read("kitchen");
  const fahrenheit: Reading = await home.read("kitchen", "F");
  const on: boolean = await home.switch("hall", true);
  // @ts-expect-error the room is a string
  await home.switch(3, true);

  try {
    await calc.add(Number.MAX_SAFE_INTEGER, 1);
  } catch (e) {
    if (e instanceof CalcErrorOverflow) {
      const limit: number = e.limit;
      void limit;
    }
    if (e instanceof CalcError) {
      const uri: string = e.uri;
      void uri;
    }
  }
  try {
    await home.read("cellar");
  } catch (e) {
    if (e instanceof HomeErrorNoSuchRoom) {
      const room: string = e.args[0];
      // @ts-expect-error the error's one field is a string
      const count: number = e.args[0];
      void [room, count];
    }
  }

  await TemperatureTopic.publish(session, { room: "lab", celsius: 21.5 });
  // @ts-expect-error a reading has degrees Celsius as a number
  await TemperatureTopic.publish(session, { room: "lab", celsius: "warm" });
  await TemperatureTopic.subscribe(session, (t) => void (t.celsius + 1), { room: "lab" });
  // @ts-expect-error the key names placeholders only
  await TemperatureTopic.subscribe(session, () => {}, { floor: 2 });
  void [wrong, total, reading, fahrenheit, on];
}
