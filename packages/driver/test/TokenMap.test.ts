import { describe, expect, it } from "@effect/vitest"
import { Codec, DataType } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import type { Host, Replication } from "../src/Metadata.js"
import * as TokenMap from "../src/TokenMap.js"

/**
 * Tokens computed by a Cassandra 5.0.9 node (`SELECT token(k) FROM ...` after inserting each key), with
 * Murmur3Partitioner and with RandomPartitioner. Composite keys are (int, text).
 */
type Vectors = {
  readonly int: ReadonlyArray<readonly [number, string]>
  readonly text: ReadonlyArray<readonly [string, string]>
  readonly uuid: ReadonlyArray<readonly [string, string]>
  readonly bigint: ReadonlyArray<readonly [string, string]>
  readonly blob: ReadonlyArray<readonly [string, string]>
  readonly composite: ReadonlyArray<readonly [number, string, string]>
}

const murmur3Vectors: Vectors = {
  int: [
    [0, "-3485513579396041028"], [1, "-4069959284402364209"], [-1, "7297452126230313552"],
    [2, "-3248873570005575792"], [42, "-7160136740246525330"], [127, "4443639997907684431"],
    [128, "-9081975895656599623"], [255, "-8423851636648339959"], [256, "180151580513994396"],
    [65535, "4944181588262051821"], [-65536, "3436793010800123800"], [2147483647, "-765994672030311617"],
    [-2147483648, "-420533958509279465"], [1000000007, "1756872511909104924"], [-123456789, "4490175510543292094"],
    [144666208, "-4674327555105457442"], [1622476726, "-4357334276692258643"], [-15954668, "7748769336518463383"],
    [-706667789, "8258937317827425158"], [1326552229, "1500742072577189238"], [-705301472, "-3457275066728441235"],
    [-1912404980, "-5597867380126880817"], [-308409672, "-2791742813426568311"], [1727918543, "4397895196573465242"],
    [-1037830277, "-986231043852561297"], [-830494954, "-7946650796039564871"], [-983312417, "649431461875593072"],
    [-856295558, "4157015503443682860"], [573349186, "4109446952534328205"], [-2101269416, "-5219816259770241111"]
  ],
  text: [
    ["a", "-8839064797231613815"], ["b", "8833996863197925870"], ["hello", "-3758069500696749310"],
    ["Hello, World", "8569019306160813795"], ["é", "5461403030378599040"], ["日本語のキー", "-6915128621077656969"],
    ["🙂 emoji", "-7976623331334779225"], ["xxxxxxxxxxxxxxx", "2088934356530938522"],
    ["yyyyyyyyyyyyyyyy", "8880037273788572859"], ["zzzzzzzzzzzzzzzzz", "1197921854538287573"],
    ["0123456789abcdef0123456789abcdef", "5708918040068455610"], ["with 'quote'", "-846806251432234252"],
    [" ", "1797078159699801913"], ["ÿÿÿÿÿÿÿÿ", "-6329480497363218379"], ["ÿ", "-601932998408660989"],
    ["KA==", "7539422494373128427"], ["5eiE7Q==", "8491401578948975376"], ["NlzMzOs4dA==", "-7061127609593510162"],
    ["uWEFtUxS5m/QYg==", "124393763244867568"], ["3PVwL1e3+w1sD/Ryxw==", "3516658420767191847"],
    ["gjDYIKeDtvxDZ2bo/SxXQQ==", "-3471127061661917987"], ["lsgs75qSdrfcb2jhD3hk/Tz0Gw==", "9205778146722531329"],
    ["lLF3LE+FyvZbRNLmegK+HbZgv7GL7g==", "-6340976597354982265"],
    ["fOvO5Ufj7iR3btxlUWmRiF42qdVzG7um6g==", "2155159566036905902"],
    ["9rtLVJcu+nLSm6yaxYarCQH00SP5E7P4BfJEnA==", "6139164138883721742"],
    ["LFBNRt7R+O691qn6GCZ99ITCag5UUki1rUmxRKVL0A==", "8378604328803048785"],
    ["CfQGvsdBGXqyq2fB7AI46tqKpkX1jaB7WvgwmTAGinagUw==", "-3947434369412589410"],
    ["Up+i8Lqr+NqAhO9j+t39+rVMTkFGhWvL0f57Q/hlH9fAcL0CjA==", "5629557645631784384"],
    ["oxuVqIsxxaHGTFeDd1RUR6i2tsU4gYOV2mpc6UzzIZ4T7AXVGFmrFw==", "611023877060869625"],
    ["pWMU", "-4566771404817177671"]
  ],
  uuid: [
    ["5dc8ba73-2fde-4f1c-acf0-a8f4af40b2e5", "3300723962418771284"],
    ["d42fd5c0-e956-11f1-b5a2-f01fd96b4c4f", "7046036494334135906"],
    ["d42fd5c1-e956-11f1-b58e-f37f72585f9d", "-861623569876588293"],
    ["628ba47a-1645-406c-9751-0b31f9ff654e", "5377305666735179956"],
    ["d42fd5c2-e956-11f1-8963-b34933fd85b3", "2749438163742827285"],
    ["cf50fcb6-ea01-4686-9af3-6a216df93a0e", "-6202190184026787606"],
    ["d42fd5c3-e956-11f1-a22f-eb903c7bf1bd", "1039325006913785139"],
    ["9e7edb64-32a4-4b4d-90ee-ec2021fd9a0b", "7646092472673961833"],
    ["d42fd5c4-e956-11f1-9ef4-8fd6eb6c08c4", "7762722626932764804"],
    ["0fd6f045-f2d7-4a0b-82b0-409b48892520", "-2382252069659129256"],
    ["d42fd5c5-e956-11f1-9312-a7effa7bb848", "7962187770429422460"],
    ["873a461b-ac8b-40bf-9814-72a6752ca448", "-555092898971606392"],
    ["d42fd5c6-e956-11f1-bf00-4ee2c52d8434", "5250553529156135530"],
    ["c3b4e4b2-cc73-4423-8575-dfda251c0e21", "4496220939088153511"],
    ["d42ffcd0-e956-11f1-a115-acedbb501d2f", "8617697670705471653"],
    ["f1981ee8-384b-48ae-bf56-d2ca593717b2", "1416855056297974163"],
    ["d42ffcd1-e956-11f1-acce-63620528e665", "-5036344615665746119"],
    ["40998f4d-63ec-4868-9052-90fa670806b3", "8247211417722440852"],
    ["d42ffcd2-e956-11f1-8937-183cc7207e25", "-1627622703977196544"],
    ["67ca99d1-e911-4e06-9a9c-bd153b3521b6", "675363243221309883"]
  ],
  bigint: [
    ["0", "2945182322382062539"], ["1", "6292367497774912474"], ["-1", "7071048584287372947"],
    ["9223372036854775807", "-1722304415079482439"], ["-9223372036854775808", "9204767954415360687"],
    ["4294967296", "-9035642208320235060"], ["-4294967297", "5019446397655183815"],
    ["1234567890123456789", "-1931134801720106650"], ["3932811351359638212", "6861474829156916055"],
    ["3569918450835779091", "-5771494791715897715"], ["-4897489398691305025", "-5795248810271571255"],
    ["-8954905739092406436", "-2720590580936081525"], ["-1198145082037277744", "-1316572031242027187"],
    ["4699363792843357090", "7212919049997891402"], ["-2916889433395597509", "7227962115650966854"],
    ["-7027653820543494706", "1435846826740991700"], ["-2877445223570276145", "-4762386958318217618"],
    ["-5577016391023150760", "463055573782205995"], ["2451535801526260281", "2192561128463934141"],
    ["-5953219226457539112", "-3149701861318439277"]
  ],
  blob: [
    ["29", "-3592875728318650644"], ["63", "-8198557465434950441"], ["4592", "778726340078449310"],
    ["ea69", "4277472914025578602"], ["efd738", "-2316169920838512904"], ["dbebcf", "3196038782549174389"],
    ["37dcdc9c", "-1312105794831705474"], ["093be8a4", "995427520342700724"], ["ca1ef2f004", "2479200689992724937"],
    ["91f0b1b676", "933211260542961355"], ["d6d3ef3a43a1", "-9222206057516942105"],
    ["7429e2904aac", "-8818148250054680352"], ["42924f8c539e4b", "6321689114534977413"],
    ["1871b13e186f6f", "-5192339145899312747"], ["89a2dcf55abb07d1", "1297030977171349941"],
    ["f7b7130da5c60633", "-1292252551887110149"], ["8606e951c3389931b4", "-1028698568622883439"],
    ["7f2f48eb251a7eaeb9", "5700058956816869264"], ["4f57978464648287df71", "8666636979130055781"],
    ["aaf5d7eef1b47797c37d", "6930490468215949195"], ["7ffc80ea2c470f5b4e8d48", "3408644429112659601"],
    ["afea5f9cf3e7583298b375", "4409200413668353446"], ["c827d99255b76077461cff8e", "8962001723290908125"],
    ["2086615e999a83558dc083be", "5251050973657490285"], ["f86e10810f9f07e3eb26eca41f", "999296612009675141"],
    ["78964137c6d08fd225a344e313", "-2914759825439477186"], ["90e97d33848f83425bc9c201f1b6", "3039784563400515421"],
    ["786c5f706ec729452a096bb86d5d", "6464132994613674028"],
    ["0205d2ef8460986c6ae42232e0c48b", "-1803993305094414823"],
    ["2cab68ad397094d8871fc91a9c408f", "-8024077821228207694"],
    ["8d8cf2715269a464d60829a39030c98e", "-3150578847115665817"],
    ["c95771fda9d82ae430c1bd08b0263d54", "7381380060959554119"],
    ["09099caf8875b5102559b0c5aa862815a9", "-7315855911287836470"],
    ["b6c8568a2de8f9dac2b928020d4407b2a4", "-4077617166327347258"],
    ["03529c1a01ec6cf6d044ffc4142189fcb3aa", "-1813958429091910091"],
    ["dcfca79f374183ceb7c5f57b04f2f8d4d8ac", "-5078444624804835405"],
    ["1b4a397762c2c52bf72e63e95a1931b9c59dc9", "7421422136292130352"],
    ["e55ea13def03bd25bee4b2e44a5948388faf22", "-2765337107689629603"],
    ["49fdd14177eae1d964e4ec2ed259bbdf89b7c749", "6038636512604365004"],
    ["52e0414a175037d5f62c2880245d42614b0ed088", "-1235006627289152476"],
    ["0bc96ae590cb4644ade075afcd3efaca4a237acf3a", "-574734227114116491"],
    ["b018b22624243e92b0b9e46e9d8c21cb494e785138", "7892055139137532567"],
    ["30ae6776efb787eaf7958265ba55d8998aca6b21facc", "-3646621036721346815"],
    ["89fe5574926ac219cf1da483e2aa3c69930c8fb830db", "5248041322011394615"],
    ["1685ebf5b1994dc20ea331413ab45a0a985fe53b03f6c7", "-5850274757237656779"],
    ["92bed853f99c8076f95802c1e800ec792767b85583ebd1", "-1617662260294356784"],
    ["e3161fd6c41ae3685601a3350a243f3516d35349788c3ee9", "3736302960563395800"],
    ["cf43be72d65ea9bafcd6cc5e3e0d13a1c225e5386bcaad09", "-1127293421128523157"],
    ["e90d8e4edd9308bda235afe0e8bd96a4cf2125118735e8309f", "-2369442679365117575"],
    ["159e00e39c136c6f45b766daa42fdf8dccdaf2e5f1a0685a9d", "-5505065277502729426"],
    ["a091a2facc13402f5ce958be15222e591bf2f589b593ac35ba1b", "-1838082252337455420"],
    ["4fe2b58be0475e680a0136aa0bd23e1b775567771555c7f5da25", "3149165003071300052"],
    ["2a7636bf941e059982ada4031fa58bf829315919eba60da1c1c5f9", "-4124213556048534139"],
    ["6d7264e221d505e4e2c4350be1ec1c45202211ac4d710bd8bd12ee", "-3555443890603793876"],
    ["9e17545e969fef9742208641731b09f09506aacceb13e8e4ccbfdb33", "-2933583504615414945"],
    ["6a77016ea3ef1ea820cd9635b6e6d5c4eaded6c890b46dd985753df1", "2382559983139390715"],
    ["ac82dd8a52aca7f3a8ac12866bdc7a39f1b56262f8d33a34f8d49f3487", "-4435836822863909300"],
    ["731a13667e9d73470be7817f9a11f190be3d8da41b7322941f3bf9ab81", "-8436092860975796704"],
    ["cb71efd80cbf5c5147500f60793896ff82fcb23f1873b4b70f19040844ef", "2289547424695045845"],
    ["374dd8a8cb68bb4538aecd4134b08117015c22e03f190ac8981e5d78a689", "-3721508687917870679"],
    ["38a7a0147da99bf8be39866ed5812b66e8482aaa05a50fb45ae3dad8b6c658", "-6966103597592497292"],
    ["d9d5e5eeec2a159e69ae71466fcc12fc53b097a51e516ed4213e786de6d7a4", "-3537519849517655801"],
    ["a9db4a024ab02dacbbb94145dc04a9086e39958698e4a584f1d3032ab9f0b76d", "8569318857533571085"],
    ["0ee06b9f8c3bb9850f940676c0e4efc7ee4e73845b419c7fffc7b5e3dc89af79", "7554818491244895630"],
    ["0aad1683140c6d98d8fcfc31a48d0f90ace1092c43fa0b75e2f61a33a53e4767d7", "60498804826152642"],
    ["232640fed86e66f5ed097a2c394739e2e31c689182631d449d3242fa2fbacbb4f3", "6753487359257434841"],
    ["84599dbb39abe3ba2794a2eb936056e0bca9919ef1b46f80e74093ee2bc43b6ef550", "226690778795229509"],
    ["a5247d863783e5b637049924d858e68476227bd7b96a6c142bf4ead40e6b74019be4", "6623526362188982376"],
    ["15fa1cd77d39e216680f0edf4c3b1b3517ca25da8a1042e5b7b0add8339db73d1cebc6", "3160704396594676216"],
    ["aae33636588f6320160d022aa6ab56e856293ffbfb30f446df5de94e1dc817a908953f", "3139039183930056755"],
    ["6a69a15bbb44bdc0c72148663a493336eaae60bf0b7dbe20565d7981b460c04f3f919b7a", "5118741854876905746"],
    ["474d875013d4b2b6b59514c795fee16bbfa4db2640815d1b5144d6ed97792784ff7c2e73", "4985578663711991564"],
    ["3bb43a85b1e09f1e837780020810364051c37605fc2d3e9003fe28680fc99ded77cf31e19f", "-6677742564094559778"],
    ["f5a3bc5dbef12930a0bee221db2f5c86a45101832397067ded79d40c7ac856a9c4aef66860", "661984462759254920"],
    ["e2a360b63ee1cafc8fa0c9d9d5c9e1883ca66c3a9f20297f2a38fb1fdaf5735c3729e9f81f61", "-2351080446485012095"],
    ["bc5c4ca85d044a5d0d6f722393745e1a9a6dbb265ffefa3ef97a040fa05458c9337adb27663b", "-4766801638748803791"],
    ["8bd7001dfacb780d4928ed87cfe0e29184579b5ed0e834196a8ee219cdccc95faa1419a7a36908", "1153705177926088174"],
    ["1b6ff4ea38a7c82029bac0ec5e58fda5b98c4ab42e6ea7ddeba1b6edb034ac297a37cc37b819ee", "-5135107119490262765"],
    ["53e6861888da66c4edf77ffb6c9b8c5192d4c33027935746471ec1cb9e07ca67c3a0f6b4a5bb952b", "-5247956893873274386"],
    ["05bbd8b1f85c2eaf15b82b83e63a86dbaff75e8ba0572d26313375dc78700f9c14e35304b0240466", "5358794226051592126"],
    ["cc6f140659d9ad7665c5712a5ff28f2d77d43d572ce32bbdcfd86fbca7e795ab9ac3e02579c122c61f", "-1554130667969249512"],
    ["0e87e4543887c7e28fd429a140613ababf4be6da44b1a9aba46b5a6cb4df6df8b1b515491066a6f264", "-5272349550857452770"],
    ["ab99506ac2659d9ae0e5d0d9c4b3db9e8fc70b354d7ccdd2d64effa94858e8028c59e1e5ca5979c14300", "8487581231606561488"],
    ["56e10ceca5409ea4cfc3dc953bc6750de794032781233b9232dca129153bb93d7d41a7e3e04721dcd806", "-7969202305532904809"],
    ["44addd43f51d33e01ad4e1c34952513b10a843527a351ff77ada896221797f4684b7f7d8211be23485628f", "-7371821142653948526"],
    ["e55cb94a99b712fb9249ff386388375abacd7408fc891fa9f6a8b7330b48d9b26057345de51384fbedad85", "-3286130607671545366"],
    ["a409f07b811649dbb44a2a5fd7d3d7e9dc34069c8799874ee5e60700b7766723956ff3f96c07fff9518e8085", "-6819026322450339208"],
    ["a466195ef6207514594d466d94a6065970809720e7bcee51f22b271191856811c13275b94c10c8a4c75a5609", "-5588181311815559902"],
    ["67550024249beda2ac5212b6c7ce8671fb1c1f9d9ffc2802e5d1494beb50056d2ec382f63ea3b5aa536bfd6f51", "-46697376274138417"],
    ["2654e00420b2237a5b35089b2eee090be8716d25fd5f9148db5b9c9573fce6753ba2f90d2a982a57262d0e2943", "-5688014618041223675"],
    ["1512af27b05eb49c1cd9f5e87d1c579758ef956223780f790ff1d386175654c511af7f590e2124504cf3417099a0", "7481864411844717291"],
    ["359afe803c686881d9fa8dc7a8d14b137c67960ea88199368bb4a918d3196b4a74ba3dcb207a87625319e596c86a", "1551134800732005924"],
    ["6381034ad044f119709cf810f069afcb7cb7d6aafb22ec87d55963e06ef1f69f099305da46985bd46f70a2e0c958e6", "-3052273602980908629"],
    ["f7f33230f1dda90c1c307520071294b147026c8dfbc29336aed3298797209d4033a863b3f4a290f36430c2dae6fe86", "-1094711991258276030"],
    ["30de101cd3163b8cc1f167f5234630462efc43ec700874a5c3887c2d37bde5e14d282f316a46e793eac4589793bc9ae3", "7090992786810275732"],
    ["7faf16acaa77248c13fc2f8ad573c50966af75ac07cbebc05efe0176914f4090af4593a6fe5db49856c1e9bb460dc373", "2475542365679880103"],
    ["ffffffffffffffffffffffffffffff", "-2195530867418009455"],
    ["80808080808080808080808080808080", "-3634615257541804556"], ["80808080808080", "7590665628118325324"],
    ["fefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefe", "5283996355877163627"]
  ],
  composite: [
    [0, "a", "6944215650061253729"], [1, "b", "-5501548057191661197"], [-1, "hello", "-5189389410230990605"],
    [2, "Hello, World", "-6818197764749973967"], [42, "é", "8069930807844304610"],
    [127, "日本語のキー", "4228704535343073811"], [128, "🙂 emoji", "3738170368913630994"],
    [255, "xxxxxxxxxxxxxxx", "-547063991027211141"], [256, "yyyyyyyyyyyyyyyy", "-5979372535830483372"],
    [65535, "zzzzzzzzzzzzzzzzz", "4998018119429072899"],
    [-65536, "0123456789abcdef0123456789abcdef", "-873009200040059636"],
    [2147483647, "with 'quote'", "1024418406223253828"], [-2147483648, " ", "4353210693416180647"],
    [1000000007, "ÿÿÿÿÿÿÿÿ", "7765971753445844248"], [-123456789, "ÿ", "-1859503398130657320"],
    [144666208, "KA==", "7692059733271556352"], [1622476726, "5eiE7Q==", "5968297264457926056"],
    [-15954668, "NlzMzOs4dA==", "7210132264053504635"], [-706667789, "uWEFtUxS5m/QYg==", "-3998439993111742300"],
    [1326552229, "3PVwL1e3+w1sD/Ryxw==", "1422798085631596244"]
  ]
}

const randomVectors: Vectors = {
  int: [
    [0, "18837662806270881894834867523173387678"], [1, "19580090105725936846312850328329299579"],
    [-1, "120549550962197124826514825591841393591"], [2, "19847720572362509985402305765727304993"],
    [42, "120848004881451414043265846020249486727"], [127, "39805249093028441339269051267313656327"],
    [128, "28137005650015575681411089083633573914"], [255, "90594498274285953228070061344701780007"],
    [256, "56765942056248258334162182537081913998"], [65535, "72405900590281566514686981682658308998"]
  ],
  text: [
    ["a", "16955237001963240173058271559858726497"], ["b", "144992942750327304334463589818972416113"],
    ["hello", "123957004363873451094272536567338222994"],
    ["Hello, World", "166510445220304830219631639806100571665"], ["é", "136732923097551493579404309126273812335"],
    ["日本語のキー", "37235779313708269078770638046592727225"], ["🙂 emoji", "26467291482708347266236134653441398033"],
    ["xxxxxxxxxxxxxxx", "44727792621743741720677667069074921562"],
    ["yyyyyyyyyyyyyyyy", "166668991175461967426615648771388992443"],
    ["zzzzzzzzzzzzzzzzz", "18087751532031592745088960400421185921"]
  ],
  uuid: [
    ["275c0bdb-dfa3-4ac7-8fe8-936cbb867055", "462529504763135931160863108091723868"],
    ["3f817a80-e958-11f1-8ec7-761d2769c42c", "22502422439580549036573684090339259367"],
    ["3f81a190-e958-11f1-b372-fc4fb6f69b15", "131900345043508679948494596922725184577"],
    ["7c682990-9e04-4ed8-aab8-649493a9ed2a", "79547278889325072361323107325907510824"],
    ["3f81a191-e958-11f1-a10a-2ebd557b5b82", "44740990525127448295128360106035415925"],
    ["f9f559fd-07f1-4173-9a43-b406840d652e", "9402341257764511267967179503787786476"]
  ],
  bigint: [
    ["0", "167369595614647380528146949865838277748"], ["1", "7503646637767087990998909735290609801"],
    ["-1", "81356335796284715801895670196000390392"],
    ["9223372036854775807", "88562946894634707273396192298761359369"],
    ["-9223372036854775808", "111990676358316684507692900186176604018"],
    ["4294967296", "42550248660399652371582083708255552889"],
    ["-4294967297", "32037889418370888898475573785274488785"],
    ["1234567890123456789", "50036240718868141505757888440049512857"]
  ],
  blob: [
    ["52", "40033504689678693460402552381455039530"], ["d9", "108421240655735322330082513654529511131"],
    ["1c56", "93857876240082843879531893708281694883"], ["7418", "111490538466966977979742704625456945634"],
    ["f4dc2d", "53883452772616020674678399502637790919"], ["9bfe26", "3058770423919598870004848443969696015"],
    ["5ad3c990", "75027681268662587289727466111826631500"], ["2caa0e45", "136914099967939952352889716382366108825"],
    ["048e61d9d3", "104071694532825771515549007397773131916"],
    ["3214e1c22b", "28775532160071077418147760854857470888"],
    ["d3c6cda724b4", "26956642261972581503129344287114242926"],
    ["328173444328", "17918841325056391073237380275454975458"],
    ["9d6fc661ac5611", "28581304723320663548569252155375107589"],
    ["4f216d26e52a98", "117996448830769404618866597788489300303"],
    ["38aacffe04552ec9", "141857888529927309150676238379372375271"],
    ["8c3f3efc310446b5", "31762313095900121522278187967086550343"],
    ["62fbbe4de962f2ebc9", "12604277435911838271197941473024731130"],
    ["186f676b5229262aab", "126729014659567695229930652126235356392"],
    ["b4b5b108fd1168e92eb3", "97147431939472347421465723040848610149"],
    ["9a353661754761e2e5f6", "29642795282694627339324923863626001547"],
    ["a7dcb9f9a67164839cc794", "97563442518248390543581259600501532399"],
    ["8203068e1e4142b4931685", "48329755863042712417103113723834987227"],
    ["ed3b711af5383b127b4cce51", "45864711272390788758545159504945869811"],
    ["c346f9eaeeea101ef7c078b8", "49545809609369083631590002899604731612"],
    ["0a4bee17648910f28c08d9991d", "42712072922472754121724664414963417597"],
    ["d7ca0741df3cbe19871f092dcf", "65735006872513460422562047996246912571"],
    ["d4306b9ef325f4a8e71e559a49d5", "120483757301157068309946602052486144368"],
    ["e6ca3fcaf402af8b32ad39991fc7", "170074039678249986535663302248946033484"],
    ["04b129e1c40c82f6b85afc4000ab44", "104684488797695449138381522799830240048"],
    ["3c61c1170ff703f93b60b14822c3cf", "113657201827184988183143511470017776407"],
    ["5ec0d70fa8f2749be71be603c1e9350b", "126371838109182435636819044190892465250"],
    ["8e385741ae4e0916c7df46cc2cad1cff", "29355776981109935515970198866439492741"],
    ["4acba9f6210ed4d664252dd5f13ab975f4", "153656533351108626545663679326012708007"],
    ["ecc66a3ea49a2d3103b977228fcb686f17", "91751757308262074597029041397659353157"],
    ["a0e712880155207793d89552339e30b427d7", "56566595013102850997536235836345817211"],
    ["2ced9b85ef5b5d304d2ba5eaccfbb461e9f5", "1142788708427472508238188832644380317"],
    ["3f0f5dd3b01f2deda1c839338dec4932cb2c24", "54215604171658384068940721430607140711"],
    ["7d08613ccae42b9b68f011ccef801c3d0fc3d7", "151801087744858202508242435945965009258"],
    ["4fd946b878aa3355aea79902e35a181f933ce9bd", "103476360296205443886577103841097008078"],
    ["bd6cdce146bfd61d00ddfd103c3d809d2ce1827d", "126986021125348222179082917640119810546"]
  ],
  composite: [
    [0, "a", "142718792474331361023628433776228155174"], [1, "b", "21763396582489646712040009328569080556"],
    [-1, "hello", "37786608531846940974297703416298270100"],
    [2, "Hello, World", "113099023228943366473329430619966238447"],
    [42, "é", "21436033269277107231307927475052985324"], [127, "日本語のキー", "96248364643399143326502902867636274197"]
  ]
}

const bytesOf = (type: DataType.DataType, value: unknown): Buffer => {
  const b = Either.getOrThrow(Codec.encode(type, value))
  if (b === null) throw new Error("null value")
  return b
}

/** Every vector as (what, routing key, expected token). */
const cases = (v: Vectors): Array<readonly [string, Buffer, string]> => [
  ...v.int.map(([k, t]) => [`int ${k}`, bytesOf(DataType.native.int, k), t] as const),
  ...v.text.map(([k, t]) => [`text ${JSON.stringify(k)}`, bytesOf(DataType.native.varchar, k), t] as const),
  ...v.uuid.map(([k, t]) => [`uuid ${k}`, bytesOf(DataType.native.uuid, k), t] as const),
  ...v.bigint.map(([k, t]) => [`bigint ${k}`, bytesOf(DataType.native.bigint, BigInt(k)), t] as const),
  ...v.blob.map(([k, t]) => [`blob 0x${k}`, Buffer.from(k, "hex"), t] as const),
  ...v.composite.map(
    ([a, b, t]) =>
      [
        `(${a}, ${JSON.stringify(b)})`,
        Option.getOrThrow(TokenMap.routingKey([bytesOf(DataType.native.int, a), bytesOf(DataType.native.varchar, b)])),
        t
      ] as const
  )
]

describe("tokens", () => {
  it("Murmur3Partitioner matches Cassandra for every collected key", () => {
    const all = cases(murmur3Vectors)
    expect(all.length).toBe(220)
    const wrong = all.filter(([, key, t]) => TokenMap.tokenOf("Murmur3Partitioner", key) !== BigInt(t))
    expect(wrong.map(([what]) => what)).toEqual([])
  })

  it("RandomPartitioner matches Cassandra for every collected key", () => {
    const all = cases(randomVectors)
    expect(all.length).toBe(80)
    const wrong = all.filter(([, key, t]) => TokenMap.tokenOf("RandomPartitioner", key) !== BigInt(t))
    expect(wrong.map(([what]) => what)).toEqual([])
  })

  it("the empty key has the minimum token", () => {
    expect(TokenMap.tokenOf("Murmur3Partitioner", Buffer.alloc(0))).toBe(-(2n ** 63n))
    expect(TokenMap.tokenOf("RandomPartitioner", Buffer.alloc(0))).toBe(-1n)
  })

  it("ByteOrderedPartitioner tokens are the key bytes, ordered as unsigned bytes", () => {
    const t = TokenMap.tokenOf("ByteOrderedPartitioner", Buffer.from([0x80, 0x01]))
    expect(t).toEqual(Buffer.from([0x80, 0x01]))
    expect(TokenMap.compareTokens(t, Buffer.from([0x7f, 0xff]))).toBe(1)
    expect(TokenMap.compareTokens(Buffer.from([0x01]), Buffer.from([0x01, 0x00]))).toBe(-1)
    expect(TokenMap.tokenToString(t)).toBe("8001")
    expect(TokenMap.tokenToString(-5n)).toBe("-5")
  })

  it("a routing key of several components is [short length][bytes][0] per component", () => {
    const key = TokenMap.routingKey([Buffer.from([1, 2]), Buffer.alloc(0), Buffer.from("abc")])
    expect(key).toEqual(Option.some(Buffer.from([0, 2, 1, 2, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63, 0])))
    expect(TokenMap.routingKey([Buffer.from([9, 8])])).toEqual(Option.some(Buffer.from([9, 8])))
    expect(TokenMap.routingKey([Buffer.alloc(0x10000), Buffer.alloc(1)])).toEqual(Option.none())
  })

  it("parses the tokens system.local and system.peers hold, and refuses others", () => {
    expect(TokenMap.parseToken("Murmur3Partitioner", "-9223372036854775808")).toEqual(Option.some(-(2n ** 63n)))
    expect(TokenMap.parseToken("Murmur3Partitioner", "9223372036854775808")).toEqual(Option.none())
    expect(TokenMap.parseToken("Murmur3Partitioner", "12abc")).toEqual(Option.none())
    expect(TokenMap.parseToken("RandomPartitioner", "170141183460469231731687303715884105728")).toEqual(
      Option.some(2n ** 127n)
    )
    expect(TokenMap.parseToken("RandomPartitioner", "-2")).toEqual(Option.none())
    expect(TokenMap.parseToken("ByteOrderedPartitioner", "00ff")).toEqual(Option.some(Buffer.from([0, 255])))
    expect(TokenMap.parseToken("ByteOrderedPartitioner", "0f0")).toEqual(Option.none())
    expect(TokenMap.partitionerOf("org.apache.cassandra.dht.Murmur3Partitioner")).toBe("Murmur3Partitioner")
    expect(TokenMap.partitionerOf("org.apache.cassandra.dht.OrderPreservingPartitioner")).toBeUndefined()
  })

  it.prop("Murmur3 tokens are signed 64-bit and never Long.MIN_VALUE for a non-empty key", [fc.uint8Array({ minLength: 1, maxLength: 80 })], ([key]) => {
    const t = TokenMap.tokenOf("Murmur3Partitioner", key) as bigint
    expect(t > -(2n ** 63n) && t < 2n ** 63n).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------------------------

const host = (i: number, dc: string, rack: string, tokens: ReadonlyArray<bigint | string>): Host => ({
  endpoint: `10.0.0.${i}:9042`,
  address: `10.0.0.${i}`,
  port: 9042,
  broadcastAddress: `10.0.0.${i}`,
  hostId: undefined,
  datacenter: dc,
  rack,
  tokens: tokens.map(String),
  releaseVersion: "5.0.9",
  schemaVersion: undefined,
  state: "up"
})

const simple = (rf: number): Replication => ({
  strategyClass: "org.apache.cassandra.locator.SimpleStrategy",
  options: new Map([["replication_factor", String(rf)]])
})

const nts = (rfs: Record<string, number | string>): Replication => ({
  strategyClass: "org.apache.cassandra.locator.NetworkTopologyStrategy",
  options: new Map(Object.entries(rfs).map(([dc, rf]) => [dc, String(rf)]))
})

const addresses = (hosts: ReadonlyArray<Host>) => hosts.map((h) => h.address)

describe("ring and replicas", () => {
  const hosts = [host(1, "dc1", "r1", [0n, 300n]), host(2, "dc1", "r1", [100n]), host(3, "dc1", "r2", [200n])]
  const map = TokenMap.make("Murmur3Partitioner", hosts, [
    { keyspace: "s1", replication: simple(1) },
    { keyspace: "s2", replication: simple(2) },
    { keyspace: "s9", replication: simple(9) },
    { keyspace: "n2", replication: nts({ dc1: 2 }) },
    { keyspace: "local", replication: { strategyClass: "org.apache.cassandra.locator.LocalStrategy", options: new Map() } },
    { keyspace: "odd", replication: { strategyClass: "com.example.MyStrategy", options: new Map() } }
  ])

  it("sorts the ring and gives each token range to the next token's owner", () => {
    expect(map.ring().map(({ token, host }) => [token, host.address])).toEqual([
      [0n, "10.0.0.1"],
      [100n, "10.0.0.2"],
      [200n, "10.0.0.3"],
      [300n, "10.0.0.1"]
    ])
    expect(addresses(map.replicas("s1", 0n))).toEqual(["10.0.0.1"])
    expect(addresses(map.replicas("s1", 1n))).toEqual(["10.0.0.2"])
    expect(addresses(map.replicas("s1", 100n))).toEqual(["10.0.0.2"])
    expect(addresses(map.replicas("s1", 299n))).toEqual(["10.0.0.1"])
    // Past the last token the ring wraps to the first.
    expect(addresses(map.replicas("s1", 301n))).toEqual(["10.0.0.1"])
    expect(addresses(map.replicas("s1", -(2n ** 63n)))).toEqual(["10.0.0.1"])
  })

  it("SimpleStrategy takes distinct hosts clockwise, at most all of them", () => {
    expect(addresses(map.replicas("s2", 250n))).toEqual(["10.0.0.1", "10.0.0.2"])
    expect(addresses(map.replicas("s2", 150n))).toEqual(["10.0.0.3", "10.0.0.1"])
    expect(addresses(map.replicas("s9", 150n))).toEqual(["10.0.0.3", "10.0.0.1", "10.0.0.2"])
  })

  it("NetworkTopologyStrategy prefers a new rack over the next host", () => {
    // From 50: host 2 (r1), then host 3 (r2); from 250: host 1 (r1), host 1 again, host 2 (r1, skipped), host 3.
    expect(addresses(map.replicas("n2", 50n))).toEqual(["10.0.0.2", "10.0.0.3"])
    expect(addresses(map.replicas("n2", 250n))).toEqual(["10.0.0.1", "10.0.0.3"])
  })

  it("LocalStrategy gives the owner; unknown strategies and keyspaces give nothing", () => {
    expect(addresses(map.replicas("local", 150n))).toEqual(["10.0.0.3"])
    expect(map.replicas("odd", 150n)).toEqual([])
    expect(map.replicas("nope", 150n)).toEqual([])
    // A token of the wrong kind lies on no Murmur3 ring.
    expect(map.replicas("s1", Buffer.from([1]))).toEqual([])
  })

  it("replicasOfKey agrees with replicas(tokenOf(key))", () => {
    for (const [, key] of cases(murmur3Vectors)) {
      expect(map.replicasOfKey("s2", key)).toBe(map.replicas("s2", map.tokenOf(key)))
    }
  })

  it("withHosts keeps placements on a state change and rebuilds them when a host moves", () => {
    const down = map.withHosts(hosts.map((h) => (h.address === "10.0.0.3" ? { ...h, state: "down" as const } : h)))
    expect(down.replicas("s2", 150n).map((h) => [h.address, h.state])).toEqual([
      ["10.0.0.3", "down"],
      ["10.0.0.1", "up"]
    ])
    const moved = map.withHosts([...hosts.slice(0, 2), host(3, "dc1", "r2", [50n])])
    expect(addresses(moved.replicas("s1", 20n))).toEqual(["10.0.0.3"])
    const joined = map.withHosts([...hosts, host(4, "dc1", "r3", [150n])])
    expect(addresses(joined.replicas("s1", 120n))).toEqual(["10.0.0.4"])
  })

  it("withKeyspaces reuses the ring and adds placements", () => {
    const next = map.withKeyspaces([{ keyspace: "fresh", replication: simple(3) }])
    expect(addresses(next.replicas("fresh", 150n))).toEqual(["10.0.0.3", "10.0.0.1", "10.0.0.2"])
    expect(next.replicas("s1", 150n)).toEqual([])
  })

  it("ignores tokens that do not parse and gives a doubly-claimed token to the first host", () => {
    const m = TokenMap.make(
      "Murmur3Partitioner",
      [host(1, "dc1", "r1", ["10", "junk"]), host(2, "dc1", "r1", ["10"]), host(3, "dc1", "r1", ["20"])],
      [{ keyspace: "k", replication: simple(3) }]
    )
    expect(m.size).toBe(2)
    expect(addresses(m.hosts)).toEqual(["10.0.0.1", "10.0.0.3"])
    expect(addresses(m.replicas("k", 15n))).toEqual(["10.0.0.3", "10.0.0.1"])
  })

  it("works for RandomPartitioner and ByteOrderedPartitioner rings", () => {
    const r = TokenMap.make(
      "RandomPartitioner",
      [host(1, "dc1", "r1", ["0"]), host(2, "dc1", "r1", ["85070591730234615865843651857942052864"])],
      [{ keyspace: "k", replication: simple(1) }]
    )
    const key = Buffer.from("hello")
    const t = r.tokenOf(key) as bigint
    expect(addresses(r.replicasOfKey("k", key))).toEqual([t > 0n && t <= 2n ** 126n ? "10.0.0.2" : "10.0.0.1"])
    const b = TokenMap.make(
      "ByteOrderedPartitioner",
      [host(1, "dc1", "r1", ["6d"]), host(2, "dc1", "r1", ["ff"])],
      [{ keyspace: "k", replication: simple(1) }]
    )
    expect(addresses(b.replicasOfKey("k", Buffer.from("apple")))).toEqual(["10.0.0.1"])
    expect(addresses(b.replicasOfKey("k", Buffer.from("zebra")))).toEqual(["10.0.0.2"])
    expect(addresses(b.replicas("k", Buffer.from([0xff, 0x00])))).toEqual(["10.0.0.1"])
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Properties against a plain restatement of Cassandra's algorithms (one ring walk per call, no precomputation)

interface Node {
  readonly host: Host
  readonly dc: string
  readonly rack: string
}

/** The ring from `token` on: owners in walk order, starting at the first token >= token, wrapping once. */
const walk = (ring: ReadonlyArray<readonly [bigint, Node]>, token: bigint): Array<Node> => {
  const start = ring.findIndex(([t]) => t >= token)
  const from = start < 0 ? 0 : start
  return [...ring.slice(from), ...ring.slice(0, from)].map(([, n]) => n)
}

const referenceSimple = (ring: ReadonlyArray<readonly [bigint, Node]>, token: bigint, rf: number): Array<string> => {
  const out: Array<string> = []
  for (const n of walk(ring, token)) if (out.length < rf && !out.includes(n.host.address)) out.push(n.host.address)
  return out
}

const referenceNts = (
  ring: ReadonlyArray<readonly [bigint, Node]>,
  token: bigint,
  rfs: Record<string, number>
): Array<string> => {
  const nodes = [...new Set(ring.map(([, n]) => n))]
  const state = new Map<string, { left: number; repeats: number }>()
  for (const [dc, rf] of Object.entries(rfs)) {
    const inDc = nodes.filter((n) => n.dc === dc)
    const racks = new Set(inDc.map((n) => n.rack))
    if (rf > 0 && inDc.length > 0) state.set(dc, { left: Math.min(rf, inDc.length), repeats: rf - racks.size })
  }
  const seenRacks = new Set<string>()
  const out: Array<string> = []
  for (const n of walk(ring, token)) {
    const s = state.get(n.dc)
    if (s === undefined || s.left === 0 || out.includes(n.host.address)) continue
    const rackKey = `${n.dc}/${n.rack}`
    if (!seenRacks.has(rackKey)) seenRacks.add(rackKey)
    else if (s.repeats > 0) s.repeats--
    else continue
    s.left--
    out.push(n.host.address)
  }
  return out
}

const int64 = fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 1n })

const clusterArb = fc
  .array(
    fc.record({
      dc: fc.constantFrom("dc1", "dc2", "dc3"),
      rack: fc.constantFrom("r1", "r2", "r3"),
      tokens: fc.uniqueArray(int64, { minLength: 1, maxLength: 4 })
    }),
    { minLength: 1, maxLength: 9 }
  )
  .map((specs) => {
    const seen = new Set<bigint>()
    // Tokens are unique across the cluster, as Cassandra requires.
    return specs.map((s, i) => host(i + 1, s.dc, s.rack, s.tokens.filter((t) => !seen.has(t) && seen.add(t))))
  })
  .filter((hs) => hs.some((h) => h.tokens.length > 0))

const ringOf = (hosts: ReadonlyArray<Host>): Array<readonly [bigint, Node]> =>
  hosts
    .flatMap((h) => h.tokens.map((t) => [BigInt(t), { host: h, dc: h.datacenter!, rack: h.rack! }] as const))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

const rfsArb = fc.record({ dc1: fc.nat(4), dc2: fc.nat(4), dc3: fc.nat(4) })

describe("replica properties", () => {
  it.prop("SimpleStrategy matches the reference", [clusterArb, fc.integer({ min: 1, max: 5 }), fc.array(int64, { maxLength: 20 })], ([hosts, rf, tokens]) => {
    const ring = ringOf(hosts)
    const m = TokenMap.make("Murmur3Partitioner", hosts, [{ keyspace: "k", replication: simple(rf) }])
    for (const t of [...tokens, ...ring.map(([x]) => x), ...ring.map(([x]) => x + 1n)]) {
      expect(addresses(m.replicas("k", t))).toEqual(referenceSimple(ring, t, rf))
    }
  })

  it.prop("NetworkTopologyStrategy matches the reference", [clusterArb, rfsArb, fc.array(int64, { maxLength: 20 })], ([hosts, rfs, tokens]) => {
    const ring = ringOf(hosts)
    const m = TokenMap.make("Murmur3Partitioner", hosts, [{ keyspace: "k", replication: nts(rfs) }])
    for (const t of [...tokens, ...ring.map(([x]) => x), ...ring.map(([x]) => x - 1n)]) {
      expect(addresses(m.replicas("k", t))).toEqual(referenceNts(ring, t, rfs))
    }
  })

  it.prop("NetworkTopologyStrategy invariants: counts per DC, distinct racks while there are enough", [clusterArb, rfsArb, int64], ([hosts, rfs, t]) => {
    const m = TokenMap.make("Murmur3Partitioner", hosts, [{ keyspace: "k", replication: nts(rfs) }])
    const replicas = m.replicas("k", t)
    expect(new Set(replicas).size).toBe(replicas.length)
    for (const [dc, rf] of Object.entries(rfs)) {
      const inDc = m.hosts.filter((h) => h.datacenter === dc)
      const chosen = replicas.filter((h) => h.datacenter === dc)
      expect(chosen.length).toBe(Math.min(rf, inDc.length))
      const racks = new Set(inDc.map((h) => h.rack))
      if (rf <= racks.size) expect(new Set(chosen.map((h) => h.rack)).size).toBe(chosen.length)
      // The first replica in a DC is that DC's first host clockwise from the token.
      if (chosen.length > 0) {
        const first = walk(ringOf(m.hosts), t).find((n) => n.dc === dc)!
        expect(chosen[0]).toBe(first.host)
      }
    }
  })

  it.prop("transient replication factors count all replicas", [clusterArb], ([hosts]) => {
    const m = TokenMap.make("Murmur3Partitioner", hosts, [
      { keyspace: "a", replication: nts({ dc1: "3/1" }) },
      { keyspace: "b", replication: nts({ dc1: 3 }) }
    ])
    expect(m.replicas("a", 0n)).toEqual(m.replicas("b", 0n))
  })
})
