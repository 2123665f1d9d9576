#!/usr/bin/env python3
"""Build filters/camera_catalogue.json, the camera rule's vocabulary, from lensfun's database.

lensfun (https://lensfun.github.io) is the open catalogue of camera bodies and lenses that
photo editors use to correct lens distortion: XML files listing each body's maker, model and
mount, and each lens's maker and model name. Its database is licensed CC BY-SA 3.0 (Debian's
copyright file for liblensfun-data-v1 says so); the extract we ship is a derived work under the
same licence (filters/camera_catalogue_LICENSE.txt).

    apt-get download liblensfun-data-v1 && dpkg -x liblensfun-data-v1_*.deb /tmp/lensfun
    .venv/bin/python scripts/build_camera_catalogue.py /tmp/lensfun/usr/share/lensfun/version_1 \
        --version 0.3.3-1

What the extract holds (all lowercased):
- makers: each maker's name without company suffixes ('Nikon Corporation' -> 'nikon'), with
  how many bodies and lenses lensfun lists and the letter prefixes of its model codes
  ('DMC-FZ45' -> 'dmc', 'fz'), so an unseen model of a known maker reads as one;
- family_words: letter-only words of body model names ('PowerShot', 'Coolpix', 'Hero');
- lens_words: letter-only words of lens names ('Nikkor', 'USM', 'Distagon');
- body_code_shapes: the letters of bodies' short hyphenated codes ('X-T30' -> 'x-t'), so that
  'X-T4' alone names a camera; company_words: the words of company names in EXIF Make fields;
- exif_keys: the EXIF/TIFF tag names (Pillow's PIL.ExifTags, which follows the EXIF 2.3
  standard), as written in key/value dumps: 'ExposureTime' -> 'exposure time', 'exposuretime';
- distinctive: which are rare enough to name a camera on their own (Zipf < 2.5, or glued);
- common: which of those words are everyday English (plain words of 3+ letters at wordfreq
  Zipf >= 3.0, e.g. 'black', 'one', 'art', and the supplement's everyday line words): the rule
  treats them as gear only next to a real camera signal.
Hand-written additions (phones, action and 360 cameras, film stocks: lensfun lists few of
them) live in SUPPLEMENT below with their source, and are marked as such in the output.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

# Company words that are not part of a maker's name as captions write it, but are part of it as
# cameras write it in the EXIF Make field ('EASTMAN KODAK COMPANY', 'CASIO COMPUTER CO.,LTD.').
COMPANY_WORDS = frozenset(
    "corporation corp co ltd inc imaging company camera ag computer techwin mobile optical eastman seiko dv".split()
)
# Makers in lensfun that are not camera or lens makers a caption would name.
SKIP_MAKERS = frozenset({"generic"})
# Words in model names that describe rather than name (crop-factor pseudo-bodies, '& compatibles').
SKIP_WORDS = frozenset(
    "and & compatibles standard with mit bei fixed festes lens objektiv film full frame crop-factor crop-faktor "
    "typ kleinbildformat aps-c aps-h four-thirds tele the of for".split()
)

# Cinema camera lines that are also names or places ('Sony Burano 8K', 'ARRI Amira'): everyday
# line words, and right after a camera-only maker a line like the catalogue's.
CINEMA_LINES_THAT_ARE_NAMES = "venice burano alexa amira komodo raptor ursa".split()
# Drone lines that are also places ('Anafi', a Greek island): the same, after a camera-only or an
# everyday-word maker.
DRONE_LINES_THAT_ARE_PLACES = ["anafi"]
# Toy camera lines that are names: right after a camera-only maker ("<maker> <Name> F+") a line.
TOY_LINES_THAT_ARE_NAMES = ["diana"]
# Panoramic (swing-lens) camera lines that are words: right after a camera-only maker a line.
PANORAMIC_LINES_THAT_ARE_WORDS = ["horizon", "sprocket", "spinner"]
# Medium-format press-camera lines that are words: right after a camera-only maker a line.
PRESS_LINES_THAT_ARE_WORDS = ["universal", "press", "rapid"]

# Hand-written additions. Source: the makers' own product-line names as printed on the devices
# and in their press releases (public product names; no caption text). Phone makers and lines
# because lensfun lists few phones; action/360 cameras and lens makers that lensfun 0.3.3 lacks;
# film stocks because 'camera + film stock' captions are camera metadata (shared/data/README.md).
SUPPLEMENT = {
    "source": "hand-written: makers' public product-line names (not from any caption data)",
    # Phone and consumer-electronics makers: a camera signal only with a model code.
    "device_makers": (
        "apple samsung google sony huawei xiaomi redmi poco oneplus oppo vivo motorola nokia lg htc honor realme "
        "asus zte meizu tecno infinix fairphone blackberry microsoft nothing iqoo garmin tcl alcatel lenovo doogee "
        "ulefone oukitel umidigi blackview wiko nubia sharp hmd "
        # older phone makers as their EXIF Make fields write them ('SonyEricsson'), and Palm
        "sonyericsson palm "
        # rugged and budget phone makers as their EXIF Make fields write them
        "unihertz crosscall sonim cubot "
        # LG Electronics as its phones write the EXIF Make field, and a budget phone maker
        "lge itel "
        # regional phone makers (India, South-East Asia, China, Spain) as their EXIF Make fields write them
        "micromax karbonn lava coolpad gionee vsmart bphone advan evercoss intex leeco letv zuk hisense bq "
        # more phone makers as their EXIF Make fields write them (France, Korea, China, Sweden, Germany)
        "archos doro pantech smartisan elephone leagoo homtom vernee nomu teracube shiftphone fujitsu"
    ).split(),
    # Phone model lines (with a number they name a phone: 'Galaxy S23', 'Pixel 8').
    "phone_lines": (
        "iphone ipad galaxy pixel xperia mate nova note redmi poco reno find nord moto razr edge zenfone rog "
        "lumia aquos nexus mi phone "
        # older phone lines English does not know (Palm, ZTE, BlackBerry)
        "treo pixi centro axon keyone "
        # budget phone lines English does not know (Tecno's, Infinix's), and Nokia's camera-phone line
        "camon pova pureview "
        # regional makers' lines English does not know (realme's, Xiaomi's, Lava's, BQ's)
        "narzo civi agni yuva aquaris"
    ).split(),
    # Phone lines that are everyday words (BlackBerry's, HTC's, ZTE's): gear only beside a model
    # code, as 'BlackBerry Curve 8520' or 'HTC Desire S' (invented examples of the makers' lines).
    "everyday_phone_lines": (
        "bold curve pearl torch storm passport desire sensation incredible wildfire legend blade "
        # rugged and budget phones' lines ('<maker> Armor 9', '<maker> Titan 2', '<maker> Spark 8')
        "armor power tank jelly atom titan spark "
        # lines of Motorola's 'one' phones and of budget makers ('<maker> one <line>+', '<maker> Hot 12')
        "one vision action hyper hot zero phantom "
        # regional makers' lines that are words ('<maker> Canvas 2', '<maker> Blaze 5G')
        "canvas blaze flare"
    ).split(),
    # 360 cameras' lines that are everyday words or another maker's name ('<maker> Gear 360',
    # '<maker> Theta Z1', '<maker> Fusion'): like the everyday phone lines, gear right after a camera
    # or device maker and beside a model code.
    "everyday_360_lines": "gear theta fusion sphere".split(),
    # Kinds of camera named in EXIF and USB device names with a code ('... Webcam C270'): like a
    # phone line, a camera signal only with a model code.
    "camera_kinds": "webcam dashcam camcorder".split(),
    # Camera makers lensfun 0.3.3 does not list (action/360 cameras, newer lens makers).
    "camera_makers": (
        "insta360 akaso sjcam virb yi kandao ricoh theta polaroid instax lomography rollei yashica "
        "holga lomo zenit kiev praktica bronica linhof sinar graflex lumix 7artisans ttartisan rokinon laowa "
        "nikkor zuiko fujinon leitz om-system fuji contax voigtlander sirui sanyo jvc agfa agfaphoto benq minox "
        "sealife kyocera kenko apeman campark dxo lytro fujica "
        # drone makers, cinema-camera makers, film and medium-format makers
        "autel skydio yuneec hubsan potensic fimi blackmagic arri kinefinity rolleicord zenza konica topcon exakta "
        "zorki lubitel smena wista plaubel hanimex ansco "
        # large-format field and view camera makers
        "tachihara deardorff wisner gandolfi cambo arca-swiss anba nagaoka shenhao "
        # cinema-camera makers that rent rather than sell their bodies
        "panavision "
        # lens adapter and focal reducer makers ('<lens> + <maker> <mount>-<mount> adapter')
        "metabones fotodiox kipon commlite novoflex techart urth k&f zhongyi "
        # dashcam and security-camera makers, a drone maker, a Chinese camera maker
        "viofo nextbase vantrue blackvue thinkware rexing 70mai wyze reolink hikvision ryze phenix "
        # film scanner and minilab makers as scans' EXIF Make fields write them
        "noritsu pakon plustek reflecta imacon "
        # cine-film camera makers and cine lens makers
        "bolex beaulieu krasnogorsk aaton angenieux kinoptik berthiot "
        # trail and game camera makers English does not know
        "reconyx spypoint moultrie cuddeback tactacam wildgame bushnell "
        # digital compact makers of the 2000s
        "aiptek jenoptik mustek largan "
        # manual-focus lens makers, a large-format lens maker
        "kamlan pergear astrhori thypoch rodenstock "
        # German and Austrian film and cine camera makers, a Japanese medium-format and cine maker
        "ihagee beirette balda welta eumig nizo noris kowa sankyo "
        # action, 360, FPV and digital rangefinder camera makers, toy and hobby drone makers
        "eken thieye crosstour victure vantop runcam foxeer caddx labpano pisofttech pixii "
        "eachine walkera syma snaptain powervision zerotech "
        # a 360-camera maker, a medium-format press-camera maker as its hyphenated name
        "humaneyes koni-omega "
        # an East German lens maker as its hyphenated name
        "meyer-optik "
        # panoramic (swing-lens and rotating) camera makers, a film scanner maker
        "widelux noblex hulcherama roundshot globuscope microtek"
    ).split(),
    # Maker words that are also everyday words or names ('One' of Phase One, 'Venus' Optics,
    # the cinema maker RED): a camera signal only with a model code, like the device makers.
    "ambiguous_maker_words": (
        "one magic phase carl arsenal miranda venus yi kiev theta petri fujian system slr schneider sinar leaf contour "
        "parrot argus horseman red "
        # large-format camera makers whose names are also a place, a tyre brand or a word
        "toyo chamonix ebony intrepid calumet "
        # a Chinese twin-lens reflex maker (a bird) and a press-camera maker (a brewer's name)
        "seagull busch "
        # an anamorphic cine lens maker (a name and a word)
        "atlas "
        # cine lens makers whose names are a typographer's word and a surname
        "kern cooke"
    ).split(),
    # Two-word maker names, matched as phrases (also as cameras write them in the EXIF Make field:
    # 'OM Digital Solutions', 'YI Technology'; 'Z CAM' makes cinema cameras).
    "maker_phrases": [
        "phase one", "om system", "slr magic", "konica minolta", "carl zeiss", "leica camera", "blackmagic design",
        "om digital solutions", "yi technology", "z cam", "hmd global", "shen hao",
        # a phone maker's name as captions and older EXIF Make fields write it
        "sony ericsson",
        # BlackBerry's maker as older BlackBerry phones write their EXIF Make field
        "research in motion",
        # a trail-camera maker
        "stealth cam",
        # a film scanner maker, a cinema-camera maker as its EXIF Make field writes it
        "pacific image", "red digital cinema",
        # a 360-camera company as its cameras write the EXIF Make field
        "arashi vision",
    ],
    # Company words of EXIF Make fields that lensfun's maker names lack ('SANYO Electric Co.,Ltd.',
    # 'FUJI PHOTO FILM CO., LTD.'): with COMPANY_WORDS above, gear next to a maker's name.
    "company_words": (
        "electric electronics photo film communications koki technologies technology limited gmbh industries "
        # a robotics company's and a phone maker's EXIF Make fields, a lens maker's town after its name
        "robotics mobility görlitz"
    ).split(),
    # Camera lines lensfun 0.3.3 lacks (newer compacts, action cameras, instant cameras).
    "camera_lines": (
        "exilim pixpro osmo instax gfx virb om-d rebel ixus elph powershot coolpix lumix cybershot cyber-shot "
        "xf xc ef ef-s rf-s nokton summilux summicron helios batis milvus otus d-lux eos "
        # lens series of older and rangefinder lenses that lensfun 0.3.3 lacks
        "tessar sonnar biogon xenar hexanon sekor yashinon tominon industar elmar elmarit hektor summar summaron "
        "noctilux angulon skopar heliar septon serenar lanthar symmar componon "
        # cinema camera lines, and large-format lines
        "varicam technika "
        # press-camera lines, a webcam line
        "pressman lifecam "
        # digital compact lines of the 2000s that lensfun 0.3.3 lacks (Samsung, Agfa, Sony, Olympus,
        # Kyocera, Epson)
        "digimax ephoto mavica camedia finecam photopc "
        # Micro Four Thirds and Four Thirds written as one word, as hashtags and tag lists write the mount
        "microfourthirds fourthirds "
        # East German lens lines (Carl Zeiss Jena's, Meyer-Optik's) that lensfun 0.3.3 lacks
        "biometar flektogon pancolar prakticar triotar orestor oreston domiplan trioplan primoplan "
        # film scanners' lines as scans' EXIF Model fields write them
        "coolscan opticfilm flextight primefilm canoscan "
        # camcorder lines (Sony's, Canon's, JVC's, Panasonic's), abbreviations of Blackmagic's cinema
        # lines, cine lens lines (Kern's), a rangefinder line, trail-camera lines English does not know
        "handycam vixia legria everio palmcorder bmpcc bmcc bmpc switar yvar pizar canonet "
        "hyperfire ultrafire microfire natureview "
        # digital compact lines of the 2000s (Sanyo's, Vivitar's, Kodak's, Polaroid's)
        "xacti vivicam easyshare photomax "
        # panoramic film lines, film and flatbed scanners' lines
        "xpan technorama scanmaker filmscan digitdia proscan "
        # instant-film lines English knows ('<maker> Spectra'), medium-format digital backs
        "spectra aptus "
        # a large-format lens series, a 360-camera line
        "sironar qoocam "
        # a 360-camera line, a cine lens series, a digital back's line
        "vuze panchro credo "
        # a drone line, Leica's 'Typ' before a type number, an anamorphic lens series
        "bebop typ orion"
    ).split(),
    # Lines a maker gave both its printers and its digital compacts: a camera only with a code
    # shaped like the compacts' (one capital and three digits, or three digits: '<line> R123'), a
    # printer's four digits ('<line> C1234') are not.
    "printer_camera_lines": ["photosmart"],
    # Words of camera lines that are everyday words: gear only beside a real camera signal.
    "everyday_line_words": (
        "pocket action hero max brave mini square wide pen tough one air black silver classic monochrome monochrom "
        "edition limited special anniversary fold flip neo lite generation gen cinema "
        # features action cameras name after their code ('... 4K WiFi'), like an edition word
        "wifi wi-fi gps "
        # edition words English knows that end a body's name ('... Professional', a cinema body's '... Live')
        "professional live "
        # edition words of dashcams ('... Duo') and the kind a dashcam's name ends with
        "duo dash "
        # edition and line words English knows of film and action bodies ('<maker> <code> Automatic',
        # '<maker> Electro <number>', an action camera's '<line><number> Session', Polaroid's Land Camera)
        "automatic electro session land "
        # a medium-format body named by its 6x6 format in words ('<maker> Six'), a film scanner's line
        # English knows ('<maker> Perfection V850', '<maker> Frontier SP-500')
        "six perfection frontier "
        # cinema sensors and lines English knows ('<maker> <LINE>-<letter> <SENSOR> 8K'), and trail
        # cameras' lines ('<maker> Trophy Cam HD ...', '... Strike Force', '... Dark Ops')
        "epic scarlet helium monstro gemini dragon trophy cam aggressor core strike force recon dark ops spec "
        # film pushed or pulled in development ('<stock> 400 pushed to 1600')
        "push pushed pull pulled "
        # action cameras' field-of-view modes written after the body ('<line><n> Black, Linear, 1/120 s')
        "linear superview hyperview narrow "
        # box camera lines that are words or names ('<maker> Brownie 127')
        "brownie hawkeye "
        # press and large-format lines English knows ('<maker> Super Graphic'), an instant body's
        # edition ('<code> Sonar'), a compact line's words in capitals ('<code> HIGH SPEED <LINE>')
        "graphic sonar high "
        # trail cameras' edition words ('<line> Force Elite'), folding cameras ('<maker> Folding Pocket')
        "elite folding "
        # cinema studio and broadcast bodies ('<maker> Micro Studio Camera 4K')
        "studio"
    ).split()
    + CINEMA_LINES_THAT_ARE_NAMES
    + DRONE_LINES_THAT_ARE_PLACES
    + TOY_LINES_THAT_ARE_NAMES
    + PANORAMIC_LINES_THAT_ARE_WORDS
    + PRESS_LINES_THAT_ARE_WORDS,
    # Cinema lines among the everyday line words: right after a camera-only maker ('ARRI Amira')
    # such a line names a camera like a line the catalogue lists.
    "everyday_camera_lines": (
        CINEMA_LINES_THAT_ARE_NAMES + DRONE_LINES_THAT_ARE_PLACES + TOY_LINES_THAT_ARE_NAMES + PANORAMIC_LINES_THAT_ARE_WORDS
        + PRESS_LINES_THAT_ARE_WORDS
    ),
    # Lens accessories joined to a lens ('<lens> + <maker> Speed Booster', '... + <maker> adapter'):
    # gear only beside a camera maker or line or a lens spec; 'USB-C adapter for <phone>' keeps.
    "lens_accessory_words": "adapter adaptor adapters booster reducer speedbooster".split(),
    # How phones name their lenses in EXIF ('iPhone 11 back dual camera 4.25mm f/1.8') and lens
    # kinds ('tilt shift', 'pancake'): everyday words, gear only beside a real camera signal.
    "everyday_lens_words": (
        "back front rear dual triple quad selfie shift tilt pancake ultrawide "
        # cine prime lines English knows ('<maker> Supreme Prime 35mm T1.5')
        "signature supreme "
        # how phones name the camera a photo was taken with ('<phone> · Main Camera — 26 mm')
        "main periscope truedepth"
    ).split(),
    # How photo sites and EXIF viewers spell the key tags in 'Key: value' dumps.
    "exif_key_spellings": (
        "camera|camera make|camera model|make|model|lens|lens model|lens make|exposure|exposure time|shutter|"
        "shutter speed|speed|aperture|f-number|f number|f-stop|fstop|iso|iso speed|focal length|focal|flash|"
        "exposure bias|exposure compensation|exposure program|exposure mode|metering|metering mode|white balance|"
        "focus mode|date taken|taken|date/time|captured|dimensions|resolution|software|film|film stock|mm|"
        # keys photo sites put before exposure values and gear ('Settings: 1/60 f/11 ISO 800')
        "settings|camera settings|exposure settings|body|specs"
    ).split("|"),
    # The same keys as EXIF tools and photo sites localise them: German, French, Spanish, Italian
    # and Dutch words for aperture, exposure or shutter time, focal length and ISO. One word is a
    # gear word; a phrase ('distance focale') is read as one (camera._LOCALISED_KEY_PHRASE).
    "localised_exif_keys": (
        "blende|belichtungszeit|verschlusszeit|belichtung|brennweite|empfindlichkeit|iso-empfindlichkeit|"
        "ouverture|vitesse|vitesse d'obturation|temps de pose|temps d'exposition|focale|longueur focale|distance focale|sensibilité|"
        "apertura|diafragma|tiempo de exposición|velocidad de obturación|exposición|distancia focal|sensibilidad|"
        "diaframma|tempo di esposizione|tempo di posa|distanza focale|esposizione|otturatore|lunghezza focale|sensibilità|"
        "sluitertijd|belichtingstijd|belichting|brandpuntsafstand|lichtgevoeligheid|"
        # seconds abbreviated after a shutter time ('1/60 seg', '1/125 Sek.')
        "seg|sek|segundos|sekunden|secondi|с|сек|"
        # French, Portuguese, Polish, Swedish, Czech and Russian keys the list lacked
        "exposition|obturateur|exposição|abertura|distância focal|velocidade do obturador|velocidade|velocidad|sensibilidade|"
        "przysłona|czas naświetlania|ogniskowa|czułość|bländare|slutartid|brännvidd|exponering|"
        "clona|expozice|ohnisková vzdálenost|exponeringstid|lukkertid|blænde|brændvidde|eksponeringstid|"
        "valotusaika|aukko|polttoväli|czas ekspozycji|pozlama|diyafram|enstantane|odak uzaklığı|выдержка|диафрагма|фокусное расстояние|экспозиция|светочувствительность"
    ).split("|"),
    # The time, camera and lens keys in the same languages ('Tiempo: 1/125 seg', 'Tempo 1/60 s' in
    # Italian and Portuguese, 'Objectif : 50 mm', 'Kamera: <body>'): EXIF keys like the others, but words of prose too, so the language
    # detector still reads them (camera.without_gear_names keeps them).
    "localised_prose_keys": (
        "tiempo|tempo|objectif|appareil|cámara|objetivo|kamera|objektiv|fotocamera|obiettivo|"
        "câmera|objetiva|aparat|obiektyw|objectief|fototoestel|камера|объектив"
    ).split("|"),
    # The same keys in Japanese, Chinese and Korean, as EXIF viewers write them glued to their values
    # or units ('ISO感度 200', '1/250秒'): read as 'exposure' wherever they stand
    # (camera._CJK_EXIF_KEY); seconds after a shutter time as 's'.
    "cjk_exif_keys": (
        "露出時間|シャッタースピード|シャッター速度|絞り値|絞り|F値|ISO感度|感度|焦点距離|露出補正|撮影機材|"
        "シャッター|曝光时间|曝光時間|快门速度|快門速度|快门|快門|光圈|焦距|感光度|曝光补偿|曝光補償|"
        "カメラ|レンズ|相机|相機|镜头|鏡頭|카메라|렌즈|"
        "노출 시간|노출시간|셔터 속도|셔터속도|셔터|조리개|초점 거리|초점거리|노출 보정|감도"
    ).split("|"),
    # Camera makers' names in Japanese, Chinese and Korean script, read as their Latin names.
    "cjk_maker_names": {
        "キヤノン": "Canon", "ニコン": "Nikon", "ソニー": "Sony", "富士フイルム": "Fujifilm", "オリンパス": "Olympus",
        "ペンタックス": "Pentax", "パナソニック": "Panasonic", "ライカ": "Leica", "リコー": "Ricoh",
        "佳能": "Canon", "尼康": "Nikon", "索尼": "Sony", "富士": "Fuji", "徕卡": "Leica", "徠卡": "Leica",
        "캐논": "Canon", "니콘": "Nikon", "소니": "Sony", "후지필름": "Fujifilm", "라이카": "Leica",
    },
    # Notes film photographers write beside body, lens and stock: expired stock, sheet and half-frame
    # formats, developers and their dilutions ('<stock> (expired <year>)', '<developer> dil. B'):
    # gear only beside a real camera signal, content alone.
    "film_notes": (
        "expired sheet half frame half-frame dil dilution stand semi-stand developed dev souped min mins "
        # a scan's resolution and the word itself ('<camera> scan', '... at 3200 dpi')
        "scan scans dpi ppi "
        "rodinal xtol caffenol ilfosol perceptol microphen ilfotec pyrocat adonal diafine fomadon"
    ).split(),
    # Trail-camera makers whose names are everyday words, surnames or a gun maker's: a maker only
    # right before two line words of a trail camera ('<maker> Strike Force ...', '<maker> Dark Ops ...').
    "line_phrase_makers": "browning covert muddy".split(),
    # Phone makers' EXIF model-name prefixes ('LG-H870', 'GT-I9300', 'XT-1635'): lensfun lists few
    # phones, so these join its model series.
    "phone_model_series": "lg sgh gt sch sph shv xt cph rmx xq".split(),
    # Camera makers' EXIF model-name prefixes newer than lensfun 0.3.3 (Sony's vlogging 'ZV-E10',
    # cinema 'ILME-FX3' and action 'FDR-X3000' bodies).
    "camera_model_series": "zv ilme fdr".split(),
    # Drone cameras' EXIF model-name prefixes: Hasselblad's cameras in DJI drones ('L', a digit,
    # 'D-' and a code) join the hyphenated model series; DJI's own write 'FC' glued to 3-4 digits
    # and maybe a capital ('FC330', 'FC6510'), matched in capitals only
    # (catalogue.is_camera_model_name).
    "drone_model_series": "l1d l2d".split(),
    # Phones' EXIF model names glued the same way (OPPO and OnePlus 'CPH' and Realme 'RMX' with
    # four digits: 'CPH1234'), distinctive enough to name a camera anywhere.
    "glued_model_series": ["FC", "CPH", "RMX"],
    # Series glued to 3-4 digits that name a camera only as a caption of their own, as the EXIF
    # Model field holds them: Autel's drone cameras and Motorola's phones write 'XT' and digits,
    # which beside other words is as often a motorcycle or another product ('XT600').
    "lone_glued_model_series": ["XT"],
    # Camera makers that also sell printers, scanners, binoculars, TVs or office products under
    # line names ('Canon Pixma', 'Canon Selphy', 'Nikon Prostaff'): a line name English does not
    # know after them needs a model code. After the other camera makers (film and view cameras:
    # 'Yashica Electro'-like names) the maker and such a name alone are a camera.
    "multi_product_makers": (
        "canon nikon epson fujifilm fuji panasonic casio olympus kodak ricoh pentax leica leitz zeiss carl konica "
        "hasselblad sony samsung sharp sanyo jvc polaroid agfa agfaphoto benq kyocera minox kenko vivitar rollei "
        "apple dji gopro insta360 yi lumix instax theta phase schneider sigma tamron tokina microsoft lg autel blackmagic "
        # names shared with a food company, a brewer, a football club, an operating system
        "dxo topcon samyang asahi zenit irix "
        # a security-camera maker that also sells plugs, locks and vacuums, a binocular and trail-camera maker
        "wyze bushnell"
    ).split(),
    # Film stocks: 'camera + film stock' captions are gear only.
    "film_stocks": (
        "ektar portra ektachrome kodachrome tri-x tmax t-max velvia provia superia acros cinestill hp5 fp4 delta "
        "fomapan ultramax colorplus gold fujicolor ilford kodak "
        # film makers and stocks the list lacked, and a stock's kind ('<maker> Color Negative 400')
        "kentmere foma adox svema lomochrome redscale negative color colour "
        # colour and black-and-white stocks by name ('<maker> Reala 100', '<maker> Neopan 400')
        "vista reala neopan agfachrome "
        # instant film by its makers' names ('<instant camera> + <maker> <code> 600'), more stocks
        "impossible i-type fomapan lomography rollei retro ortho phoenix harman "
        # vintage roll-film stocks and a stock's kind ('<stock> Pan'), and film simulations by one name
        "verichrome panatomic kodacolor plus-x pan eterna astia "
        # film makers the list lacked (East German, Italian, Japanese)
        "orwo ferrania washi"
    ).split(),
    # Film makers: capitalised words between one and a box speed name a stock ('<maker> <Name> <Name> 400').
    "film_makers": (
        "kodak ilford fujifilm fuji lomography foma fomapan kentmere adox agfa rollei cinestill harman polaroid "
        "ferrania orwo svema washi"
    ).split(),
    # Film simulations cameras write beside the body, as phrases ('<body>, <simulation>'): read as 'film'.
    "film_simulations": [
        "classic chrome", "classic neg", "nostalgic neg", "pro neg hi", "pro neg std", "bleach bypass", "reala ace",
        "acros red", "acros yellow", "acros green",
    ],
}


SHORT_CODE_MAX_ZIPF = 4.3
# lensfun's generic crop-factor entries ('Crop-factor 1.5'), not a maker's model series.
SERIES_NOT_CAMERA = {"crop"}


def maker_key(name: str) -> str:
    words = [w for w in re.split(r"[\s,.]+", name.lower()) if w and w not in COMPANY_WORDS]
    return " ".join(words)


def words_of(model: str) -> list[str]:
    """Letter-only words of a model name ('Canon PowerShot G5 X Mark II' -> canon, powershot, x,
    mark, ii); words with a digit are model codes, not names."""
    out = []
    for raw in re.split(r"[\s()\[\]|,\"“”„]+", model.lower()):
        word = raw.strip(".:;'*")
        if len(word) < 2 or any(ch.isdigit() for ch in word) or not any(ch.isalpha() for ch in word):
            continue
        if word in SKIP_WORDS or not re.fullmatch(r"[a-zµ][a-zµ*.\-]*", word):
            continue
        out.append(word)
    return out


def code_prefixes(model: str) -> set[str]:
    """The letters in front of the digits of each model code: 'DMC-FZ45' -> {'dmc', 'fz'}."""
    prefixes = set()
    for token in re.split(r"\s+", model.lower()):
        if not any(ch.isdigit() for ch in token):
            continue
        for part in token.split("-"):
            match = re.match(r"([a-z]+)\d", part)
            if match:
                prefixes.add(match.group(1))
    return prefixes


def series_prefix(model: str) -> str | None:
    """The letters before a hyphen that makers put in front of EXIF model names: 'DMC-FZ45' ->
    'dmc', 'ILCE-7M3' -> 'ilce' (a letter run of 2-5 letters, then '-', then a letter or digit)."""
    for token in model.split():
        match = re.match(r"([A-Za-z]{2,5})-[A-Za-z0-9]", token)
        if match:
            return match.group(1).lower()
    return None


def body_code_shape(token: str) -> str | None:
    """The letters of a hyphenated body code with a short prefix, up to its digits: 'X-T30' ->
    'x-t', 'E-M10MarkII' -> 'e-m', 'X-Pro2' -> 'x-pro'. None for other tokens ('TG-5' has no
    letter after the hyphen, so it stays too short to tell from a counter)."""
    match = re.fullmatch(r"([a-z]{1,2}-[a-z]{1,3})\d+[a-z]*", token.lower())
    return match.group(1) if match else None


def native(element, tag: str) -> str | None:
    """The element's untranslated <tag> (lensfun adds lang="xx" variants)."""
    for child in element.findall(tag):
        if "lang" not in child.attrib and child.text:
            return child.text.strip()
    return None


def english(element, tag: str) -> str | None:
    for child in element.findall(tag):
        if child.attrib.get("lang") == "en" and child.text:
            return child.text.strip()
    return None


# Tags whose values are free text a person wrote (a caption, a name): a dump of them is not gear.
TEXT_TAGS = frozenset(
    "ImageDescription UserComment Artist Copyright DocumentName PageName XPTitle XPComment XPAuthor XPKeywords "
    "XPSubject CameraOwnerName ImageTitle Photographer ImageEditor".split()
)


def exif_keys() -> list[str]:
    from PIL import ExifTags  # the EXIF 2.3 / TIFF tag names

    names = (set(ExifTags.TAGS.values()) | set(ExifTags.GPSTAGS.values())) - TEXT_TAGS
    keys = set(SUPPLEMENT["exif_key_spellings"]) | set(SUPPLEMENT["localised_exif_keys"]) | set(SUPPLEMENT["localised_prose_keys"])
    for name in names:
        spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name).lower()
        keys.add(spaced)
        keys.add(name.lower())
    return sorted(keys)


# lensfun entries that name no real body or lens: generic crop factors, film formats, a compact's
# built-in lens (named after the body, maybe with a converter), the 'Standard' of fixed lenses.
NOT_A_MODEL = re.compile(r"compatibles|fixed lens|converter|\(standard\)|35mm film|crop-factor|^standard$", re.IGNORECASE)


def model_names(root: str) -> list[tuple[str, str]]:
    """(kind, name) of every body ('camera') and lens ('lens') lensfun lists, as a caption would
    name them: a body with its maker in front where the model leaves it out ('Pentax K-x'), a lens
    as lensfun writes it. For tests/test_filters_lensfun.py: every one is camera metadata."""
    names = set()
    for path in sorted(glob.glob(os.path.join(root, "*.xml"))):
        for kind in ("camera", "lens"):
            for element in ET.parse(path).getroot().iter(kind):
                maker_name = native(element, "maker") or ""
                for model in filter(None, (native(element, "model"), english(element, "model"))):
                    if NOT_A_MODEL.search(model) or NOT_A_MODEL.search(maker_name):
                        continue
                    first = maker_name.split()[0].lower() if maker_name else ""
                    if kind == "camera" and first and not model.lower().startswith(first):
                        model = f"{maker_name} {model}"
                    names.add((kind, model))
    return sorted(names)


def build(root: str, version: str) -> dict:
    from wordfreq import zipf_frequency

    makers: dict[str, dict] = {}
    series: dict[str, int] = {}  # EXIF model-name prefixes ('dmc', 'ilce') and how many bodies use them
    shapes: set[str] = set()  # short hyphenated body codes ('x-t' of X-T30, 'e-m' of E-M5)
    family, lens_words = set(), set()
    files = sorted(glob.glob(os.path.join(root, "*.xml")))
    if not files:
        raise SystemExit(f"no lensfun XML files under {root}")
    for path in files:
        tree = ET.parse(path).getroot()
        for kind, tag in (("cameras", "camera"), ("lenses", "lens")):
            for element in tree.iter(tag):
                maker_name, model = native(element, "maker"), native(element, "model")
                if not maker_name or not model:
                    continue
                key = maker_key(maker_name)
                if not key or key in SKIP_MAKERS:
                    continue
                entry = makers.setdefault(key, {"cameras": 0, "lenses": 0, "code_prefixes": set()})
                entry[kind] += 1
                models = [model] + ([english(element, "model")] if english(element, "model") else [])
                if kind == "lenses" and ("compatibles" in model.lower() or model.lower().startswith("fixed")):
                    continue  # a compact's built-in lens, named after the body
                for name in models:
                    if kind == "cameras":
                        entry["code_prefixes"] |= code_prefixes(name)
                        shapes.update(filter(None, map(body_code_shape, name.split())))
                        prefix = series_prefix(name)
                        if prefix:
                            series[prefix] = series.get(prefix, 0) + 1
                        family.update(words_of(name))
                    else:
                        lens_words.update(words_of(name))
    maker_words = {word for key in makers for word in key.split()}
    family -= maker_words
    lens_words -= maker_words
    supplement_words = set()
    for field in (
        "device_makers", "phone_lines", "camera_makers", "camera_lines", "everyday_line_words", "everyday_lens_words", "film_stocks",
        "everyday_phone_lines", "camera_kinds", "everyday_360_lines",
    ):
        supplement_words.update(SUPPLEMENT[field])
    for phrase in SUPPLEMENT["maker_phrases"]:
        supplement_words.update(phrase.split())
    every_word = maker_words | family | lens_words | supplement_words
    # wordfreq splits 'k-x' into 'k' and 'x', so only plain words of 3+ letters can be everyday.
    common = sorted(w for w in every_word if re.fullmatch("[a-z]{3,}", w) and zipf_frequency(w, "en") >= 3.0)
    common = sorted(
        set(common) | set(SUPPLEMENT["everyday_line_words"]) | set(SUPPLEMENT["everyday_lens_words"])
        | set(SUPPLEMENT["everyday_phone_lines"]) | set(SUPPLEMENT["everyday_360_lines"])
    )
    # Rare enough to name a camera on their own: glued or dotted names ('af-s', 'm.zuiko') and
    # words at Zipf < 2.5 ('distagon'). Words between 2.5 and 3.0 ('jena') are gear, not a signal.
    distinctive = sorted(w for w in every_word if not re.fullmatch("[a-z]+", w) or zipf_frequency(w, "en") < 2.5)
    # Short line and lens codes ('fc', 'sd', 'smc', 'df'), read as model codes in any case; the
    # ones that are common English words ('is', 'if', 'new', 'art', Zipf >= 4.3) are left out.
    short_codes = sorted(
        w for w in family | lens_words if re.fullmatch("[a-z]{2,3}", w) and zipf_frequency(w, "en") < SHORT_CODE_MAX_ZIPF
    )
    return {
        "about": "Camera makers, model words and lens words for wit.filters.camera; built by scripts/build_camera_catalogue.py",
        "source": {
            "database": "lensfun lens and camera database",
            "package": "Debian liblensfun-data-v1",
            "version": version,
            "licence": "CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/), per the package's copyright file",
            "files": len(files),
        },
        "makers": {key: {**value, "code_prefixes": sorted(value["code_prefixes"])} for key, value in sorted(makers.items())},
        "family_words": sorted(family),
        "lens_words": sorted(lens_words),
        "exif_keys": exif_keys(),
        "common": common,
        "distinctive": distinctive,
        "short_codes": short_codes,
        # Prefixes of two or more bodies' EXIF model names: 'DMC-FZ1000', 'ILCE-7M3' name a camera alone.
        "model_series": sorted(
            {p for p, count in series.items() if count >= 2 and p not in SERIES_NOT_CAMERA}
            | set(SUPPLEMENT["phone_model_series"])
            | set(SUPPLEMENT["drone_model_series"])
            | set(SUPPLEMENT["camera_model_series"])
        ),
        # Short hyphenated body codes: 'X-T4', 'E-M1' name a camera alone (a short prefix is no
        # series of its own: 'X' and 'E' are too short for model_series).
        "body_code_shapes": sorted(shapes),
        # Words of makers' company names as EXIF Make fields write them.
        "company_words": sorted(COMPANY_WORDS | set(SUPPLEMENT["company_words"])),
        "supplement": SUPPLEMENT,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lensfun_dir", help="lensfun's version_1 folder (the XML files)")
    parser.add_argument("--version", required=True, help="the lensfun package version, recorded in the output")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "filters", "camera_catalogue.json"))
    parser.add_argument("--models-out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "lensfun_models.tsv"),
                        help="every body and lens name, for tests/test_filters_lensfun.py ('' to skip)")
    args = parser.parse_args(argv)
    if args.models_out:
        with open(args.models_out, "w", encoding="utf-8") as handle:
            handle.write(f"# lensfun {args.version} bodies and lenses (CC BY-SA 3.0: filters/camera_catalogue_LICENSE.txt)\n")
            handle.write("kind\tname\n")
            handle.writelines(f"{kind}\t{name}\n" for kind, name in model_names(args.lensfun_dir))
    catalogue = build(args.lensfun_dir, args.version)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(catalogue, handle, ensure_ascii=False, indent=0, sort_keys=True)
        handle.write("\n")
    print(
        f"{args.out}: {len(catalogue['makers'])} makers, {len(catalogue['family_words'])} family words, "
        f"{len(catalogue['lens_words'])} lens words, {len(catalogue['exif_keys'])} EXIF keys",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
