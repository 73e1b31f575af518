// The "generate a strong password" helper and the passphrase strength hint.
import { numbers, t } from "./i18n.js";

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!@#%+=";

// Short, common English words, distinct and in lower case: a passphrase of them is
// easy to read out over a call. About 10.3 bits a word.
const WORDS = (
  "able acid acorn actor adapt added admit adobe adult aerial afford after again agent agree ahead aim " +
  "air aisle alarm album alert algae alien alley allow almond alone alpha already also alter amber " +
  "amount ample anchor angle ankle answer anvil apart apple apron arch arena argue arm armor army aroma " +
  "arrow art ash aside ask aspen atlas atom attic audio aunt autumn avid awake award away axis baby " +
  "back bacon badge bag bagel baker balcony ball bamboo banana band bank barn barrel basil basin basket " +
  "bath beach beacon bead beam bean bear beaver bed bee beef beet begin bell belt bench berry best " +
  "bicycle big bike birch bird bison bit black blade blank blanket blaze blend bless blink block bloom " +
  "blue blush board boat body boil bolt bone bonus book boost boot border bottle bounce bow bowl box " +
  "brain branch brass brave bread breeze brick bridge brief bright bring brisk broom brown brush bubble " +
  "bucket bud buffalo build bulb bunch bundle burst bus bush butter button buzz cabin cable cactus cage " +
  "cake calm camel camera camp canal candle candy canoe canvas canyon cap cape car card cargo carpet " +
  "carrot cart carve case cash castle cat cattle cave cedar celery cell cement cereal chain chair chalk " +
  "chant charm chart chase cheek cheese cherry chess chest chicken chief chill chimney chip chorus " +
  "cider cinema circle city clam clap claw clay clean clerk click cliff climb clock close cloth cloud " +
  "clover club coach coast coat cocoa coconut code coffee coin cold color comet comic cook cool copper " +
  "coral cord corn corner cotton couch count cousin cover cow crab craft crane crater crayon cream " +
  "creek crew cricket crisp crop cross crowd crown crumb crust cube cup cupboard curl curtain curve " +
  "cushion cycle daily dairy daisy dance dash data dawn deck deep deer delta denim depth desert desk " +
  "detail dial diary dice diet dig dinner dish dive dock doctor dog doll dolphin dome donkey door dot " +
  "dough dove dozen draft dragon drama draw dream dress drift drill drink drip drum duck dune dust duty " +
  "eager eagle early earth easel east easy echo edge eel effort egg eight elbow elder elk elm ember " +
  "empty enamel engine enjoy enter entry envoy equal error essay even event exact exit extra fabric " +
  "face fact fade fair falcon fall fame fan fancy farm fast fawn feast feather fence fern ferry fever " +
  "fiber field fig film final finch fire firm fish five flag flame flash flat flavor fleet flight flint " +
  "float flock flood floor flour flower fluid flute fly foam focus fog fold folk food foot forest fork " +
  "form fort forum fossil fox frame fresh frog frost fruit fudge fuel fun funnel fur gadget galaxy game " +
  "garage garden garlic gate gauge gaze gear gecko gem gentle giant gift ginger giraffe glad glass " +
  "glide globe glove glow glue goat gold golf goose gorilla grace grain grape graph grass gravel gravy " +
  "green grid grill grin grip grove grow guard guest guide guitar gull gum gust habit hair half hall " +
  "hammer hamster hand handle harbor hard harp harvest hat hatch hawk hazel head health heart heat " +
  "hedge helmet help hen herb hero heron hill hinge hint hippo hobby hockey hold holiday hollow home " +
  "honey hood hook hope horizon horn horse host hotel hour house hub hug humble hunt husky hut ice icon " +
  "idea igloo image inch index ink inlet input insect inside iron island item ivory ivy jacket jade " +
  "jaguar jam jar jazz jeans jelly jet jewel job jog join joke journal joy judge juice jump jungle " +
  "junior jury kayak keen kettle key kick kid kind king kit kite kitten kiwi knee knife knit knot koala " +
  "label ladder lady lake lamb lamp land lane lantern laptop large laser latch laugh lava lawn layer " +
  "leaf learn leather lemon lens level lever library lid light lilac lily lime limit linen lion list " +
  "little lizard llama loaf lobster local lock lodge loft logic long loop lotus loud lucky lumber lunar " +
  "lunch lyric magnet maid mail major mango manor map maple marble march market mask mason match meadow " +
  "meal medal melody melon member memo menu merit mesh metal meter middle milk mill mimic mind mineral " +
  "minor mint minute mirror mist mitten mix model modem moment monkey month moon moose morning mosaic " +
  "moss motor mound mountain mouse mouth movie mud muffin mule mural museum music mustard nail name " +
  "napkin narrow native nature navy near neat nectar needle nephew nerve nest net never new news next " +
  "nickel night noble noise noodle normal north nose note novel number nurse nut oak oasis oat ocean " +
  "octave odd offer office often olive omelet onion open opera orange orbit orchard order organ otter " +
  "outer oval oven owl owner oxygen oyster pact paddle page paint pair palace palm panda panel paper " +
  "parade parcel park parrot party pass pasta paste patch path pause peach peak peanut pear pearl " +
  "pebble pecan pedal pen pencil penguin pepper piano pickle picnic pie pier pig pigeon pillow pilot " +
  "pine pink pint pipe pizza place plain plan planet plank plant plate play plaza plenty plum plus " +
  "pocket poem point polar pole polish pond pony pool poppy porch port post pot potato pouch powder " +
  "power prairie press pride prince print prism prize proud pulse pump pumpkin pupil puppy purple " +
  "puzzle quail quart quartz queen quest quick quiet quill quilt quiz quote rabbit raccoon race radar " +
  "radio raft rail rain rainbow raisin rake ramp ranch range rapid raven razor reach ready real recipe " +
  "record reef relax relay remote rent reply rest ribbon rice rich ride ridge right ring ripple river " +
  "road robin robot rock rocket rod roof room root rope rose round route royal rubber ruby rug ruler " +
  "rumble run rural rust saddle safe saga sail salad salmon salt sample sand sandal satin sauce sausage " +
  "scale scarf scene school scoop scout screen script sea seal season seat second secret seed shadow " +
  "shape share shark sheep shelf shell shield shine ship shirt shoe shore short shovel shower shrimp " +
  "sight signal silk silver simple siren sister size skate sketch ski skill skirt sky slate sled sleep " +
  "slice slide slope small smile smoke snack snail snake snow soap soccer sock sofa soft solar solid " +
  "sonar song sound soup south space spark speed spice spider spike spin spirit sponge spoon sport spot " +
  "spray spring spruce square squash stable stage stair stamp star start station statue steam steel " +
  "stem step stick stone stool storm story stove straw stream street string stripe studio sugar suit " +
  "summer summit sun sunset supper surf swamp swan sweater sweet swift swing symbol syrup table tablet " +
  "tackle tail talent tango tank tape target taxi tea teacher team teapot temple tennis tent term test " +
  "text thank theory thread throne thumb thunder ticket tide tiger tile timber time tin tiny tip toast " +
  "today toe token tomato tone tool tooth topic torch tortoise total tower town toy track trade trail " +
  "train tray treat tree trend trial tribe trick trio trophy truck trumpet trunk tulip tuna tunnel " +
  "turkey turn turtle tutor twig twin type umbrella uncle under unicorn union unit upper urban usual " +
  "valley value van vapor vase vast vault velvet vendor venue verse vessel vest video view village vine " +
  "violet violin visit vital vivid voice volume vote voyage waffle wagon walk wall walnut walrus wander " +
  "warm wash wasp watch water wave wax way wealth weave web wedge week well west whale wheat wheel " +
  "whisk whistle white wide width wild willow wind window wing winter wire wise wish wizard wolf wonder " +
  "wood wool word work world worm wrap wren wrist yacht yard yarn year yellow yield yoga yogurt young " +
  "youth zebra zero zest zigzag zinc zipper zone zoo"
).split(" ");

/** What the generator offers: characters or words, and how many of them. */
export const PASSWORD_KINDS = {
  characters: { min: 8, max: 128, default: 24, bitsEach: Math.log2(ALPHABET.length) },
  words: { min: 4, max: 20, default: 7, bitsEach: Math.log2(WORDS.length) },
};

/** ``count`` uniform random picks from ``choices`` (rejection sampling: no bias). */
function pick(choices, count) {
  const out = [];
  const range = 2 ** 32;
  const limit = range - (range % choices.length); // reject values that would bias the choice
  while (out.length < count) {
    for (const value of globalThis.crypto.getRandomValues(new Uint32Array(count))) {
      if (value < limit && out.length < count) out.push(choices[value % choices.length]);
    }
  }
  return out;
}

/** A random password from a 66-symbol alphabet (about 6 bits a character). */
export function generatePassword(length = PASSWORD_KINDS.characters.default) {
  return pick(ALPHABET, length).join("");
}

/** Random words joined by hyphens, such as "maple-otter-quilt-...". */
export function generatePassphrase(count = PASSWORD_KINDS.words.default) {
  return pick(WORDS, count).join("-");
}

/** A password of ``kind`` ("characters" or "words") and ``length`` (how many of
 * them), with its strength in bits. */
export function generate(kind, length) {
  const spec = PASSWORD_KINDS[kind];
  if (!spec) throw new RangeError(`Unknown kind of password: ${kind}`);
  const count = Number(length);
  if (!Number.isInteger(count) || count < spec.min || count > spec.max) {
    const range = { min: numbers.format(spec.min), max: numbers.format(spec.max) };
    throw new RangeError(
      kind === "words" ? t("Choose between {min} and {max} words.", range) : t("Choose between {min} and {max} characters.", range),
    );
  }
  const value = kind === "words" ? generatePassphrase(count) : generatePassword(count);
  return { value, bits: Math.floor(spec.bitsEach * count) };
}

export const WORD_COUNT = WORDS.length;

/** A rough entropy estimate: enough to warn about "password1", not a proof of strength. */
export function passphraseStrength(passphrase) {
  if (!passphrase) return { score: 0, text: "" };
  let pool = 0;
  if (/[a-z]/.test(passphrase)) pool += 26;
  if (/[A-Z]/.test(passphrase)) pool += 26;
  if (/[0-9]/.test(passphrase)) pool += 10;
  if (/[^A-Za-z0-9]/.test(passphrase)) pool += 33;
  const distinct = new Set(passphrase).size;
  const bits = Math.log2(Math.max(pool, 2)) * Math.min(passphrase.length, distinct * 2);
  if (bits < 40) return { score: 1, text: t("Weak: easy to guess. Use more words or characters.") };
  if (bits < 64) return { score: 2, text: t("Fair: fine for a short-lived secret.") };
  return { score: 3, text: t("Strong.") };
}
