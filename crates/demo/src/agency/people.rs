//! A synthetic population: deterministic (same seed → same people), plausible Azerbaijani
//! names, patronymics, FINs, addresses and phone numbers. Every demo agency derives its
//! records from it, so a FIN found in the population registry also has payments, fines or
//! a water account elsewhere, as in life. Nothing here is a real person.

use std::collections::HashMap;

/// The number of people in the demo (the issue asks for at least 100,000).
pub const DEMO_POPULATION: usize = 100_000;

/// The demo's seed.
pub const DEMO_SEED: u64 = 0x0A2E_2026;

/// Letters and digits of a FIN (the 7-character personal identification number): no I or
/// O, which are read as 1 and 0.
const FIN_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Male given names, with their origin and meaning (the names-information service).
pub const MALE_NAMES: &[(&str, &str, &str)] = &[
    ("Elvin", "Azerbaijani", "of the people"),
    ("Rauf", "Arabic", "merciful"),
    ("Kamran", "Persian", "successful"),
    ("Tofiq", "Arabic", "success granted by God"),
    ("Orxan", "Turkic", "leader of the army"),
    ("Nicat", "Arabic", "salvation"),
    ("Ramil", "Arabic", "fortune teller"),
    ("Səbuhi", "Arabic", "of the morning"),
    ("Tural", "Turkic", "living, eternal"),
    ("Elşən", "Azerbaijani", "joy of the people"),
    ("Anar", "Persian", "pomegranate"),
    ("Vüqar", "Arabic", "dignity"),
    ("Rəşad", "Arabic", "right conduct"),
    ("Fuad", "Arabic", "heart"),
    ("Murad", "Arabic", "wish, goal"),
    ("Emin", "Arabic", "trustworthy"),
    ("Ilkin", "Turkic", "the first"),
    ("Cavid", "Persian", "eternal"),
    ("Ülvi", "Arabic", "lofty"),
    ("Zaur", "Arabic", "visitor"),
    ("Əli", "Arabic", "exalted"),
    ("Hüseyn", "Arabic", "good, handsome"),
    ("Məmməd", "Arabic", "praised"),
    ("Həsən", "Arabic", "good"),
    ("İlham", "Arabic", "inspiration"),
    ("Şahin", "Persian", "falcon"),
    ("Namiq", "Arabic", "writer"),
    ("Samir", "Arabic", "companion in conversation"),
    ("Azər", "Persian", "fire"),
    ("Rüstəm", "Persian", "hero"),
];

/// Female given names, with their origin and meaning.
pub const FEMALE_NAMES: &[(&str, &str, &str)] = &[
    ("Aysel", "Turkic", "moon flood"),
    ("Günel", "Turkic", "sun-like"),
    ("Leyla", "Arabic", "night"),
    ("Nigar", "Persian", "beloved"),
    ("Səbinə", "Latin", "Sabine"),
    ("Aynur", "Turkic", "moonlight"),
    ("Gülnar", "Persian", "pomegranate flower"),
    ("Nərmin", "Persian", "tender"),
    ("Şəbnəm", "Persian", "dew"),
    ("Kəmalə", "Arabic", "perfection"),
    ("Lalə", "Persian", "tulip"),
    ("Zəhra", "Arabic", "radiant"),
    ("Fidan", "Turkic", "sapling"),
    ("Sevinc", "Turkic", "joy"),
    ("Ülviyyə", "Arabic", "loftiness"),
    ("Xədicə", "Arabic", "early-born"),
    ("Türkan", "Turkic", "Turkic princess"),
    ("Könül", "Turkic", "heart, soul"),
    ("Mehriban", "Persian", "kind"),
    ("Nazlı", "Persian", "graceful"),
    ("Aytən", "Turkic", "moon-bodied"),
    ("Elnarə", "Azerbaijani", "pomegranate of the people"),
    ("Rəna", "Persian", "beautiful"),
    ("Təranə", "Persian", "melody"),
    ("Ilahə", "Arabic", "goddess"),
    ("Jalə", "Persian", "dew"),
    ("Validə", "Arabic", "mother"),
    ("Pərvin", "Persian", "the Pleiades"),
    ("Samirə", "Arabic", "companion in conversation"),
    ("Dilarə", "Persian", "heart-adorning"),
];

/// Family names in their male form; the female form adds `a` (Məmmədov → Məmmədova).
const FAMILY_NAMES: &[&str] = &[
    "Məmmədov",
    "Əliyev",
    "Həsənov",
    "Hüseynov",
    "Quliyev",
    "İsmayılov",
    "Abbasov",
    "Cəfərov",
    "Rzayev",
    "Süleymanov",
    "Nağıyev",
    "Babayev",
    "Kazımov",
    "Orucov",
    "Əhmədov",
    "Mustafayev",
    "Qasımov",
    "Bağırov",
    "Sadıqov",
    "Vəliyev",
    "Rəhimov",
    "Səfərov",
    "Kərimov",
    "Novruzov",
    "Zeynalov",
    "Hacıyev",
    "Allahverdiyev",
    "Tağıyev",
    "Paşayev",
    "Şükürov",
];

/// Towns and cities, with their districts or settlements.
const PLACES: &[(&str, &[&str])] = &[
    (
        "Bakı ş.",
        &[
            "Nəsimi r.",
            "Yasamal r.",
            "Nərimanov r.",
            "Binəqədi r.",
            "Xətai r.",
            "Səbail r.",
            "Suraxanı r.",
            "Sabunçu r.",
        ],
    ),
    ("Gəncə ş.", &["Kəpəz r.", "Nizami r."]),
    ("Sumqayıt ş.", &["1-ci mkr.", "9-cu mkr.", "17-ci mkr."]),
    ("Mingəçevir ş.", &["Yeni şəhər"]),
    ("Şəki ş.", &["Köhnə şəhər"]),
    ("Lənkəran ş.", &["Mərkəz"]),
    ("Naxçıvan ş.", &["Mərkəz"]),
    ("Quba r.", &["Quba ş."]),
    ("Şirvan ş.", &["Mərkəz"]),
    ("Qəbələ r.", &["Qəbələ ş."]),
];

const STREETS: &[&str] = &[
    "Nizami küç.",
    "Füzuli küç.",
    "Rəşid Behbudov küç.",
    "Atatürk pr.",
    "Heydər Əliyev pr.",
    "Azadlıq pr.",
    "Səməd Vurğun küç.",
    "Üzeyir Hacıbəyov küç.",
    "Xətai pr.",
    "Cəfər Cabbarlı küç.",
    "Natəvan küç.",
    "Bülbül pr.",
    "28 May küç.",
    "İstiqlaliyyət küç.",
];

/// Mobile operators' prefixes.
pub const MOBILE_PREFIXES: &[(&str, &str)] =
    &[("50", "Azercell"), ("51", "Azercell"), ("55", "Bakcell"), ("99", "Bakcell"), ("70", "Nar"), ("77", "Nar")];

/// One person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Personal identification number.
    pub fin: String,
    /// Given name.
    pub first_name: &'static str,
    /// Family name.
    pub last_name: String,
    /// Patronymic (`Rauf oğlu`, `Rauf qızı`).
    pub patronymic: String,
    /// `M` or `F`.
    pub gender: char,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Year of birth.
    pub birth_year: i32,
    /// Registered address.
    pub address: String,
    /// Town or city of the address (for regional data).
    pub region: usize,
    /// Mobile number, `+994XXXXXXXXX`.
    pub phone: String,
    /// A number drawn with the person, from which agencies derive their own records.
    pub trait_bits: u64,
}

impl Person {
    /// Full name as written in Azerbaijani documents.
    pub fn full_name(&self) -> String {
        format!("{} {} {}", self.last_name, self.first_name, self.patronymic)
    }

    /// Age on 1 January 2026.
    pub fn age(&self) -> i32 {
        2026 - self.birth_year
    }
}

/// SplitMix64: tiny, fast, and the same on every platform — reproducible data needs
/// nothing more.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A whole population with lookups by FIN and by phone.
#[derive(Debug)]
pub struct Population {
    /// Everyone, in generation order.
    pub people: Vec<Person>,
    by_fin: HashMap<String, usize>,
    by_phone: HashMap<String, usize>,
}

impl Population {
    /// Generates `count` people from `seed`.
    pub fn generate(seed: u64, count: usize) -> Self {
        let mut rng = Rng::new(seed);
        let mut people = Vec::with_capacity(count);
        let mut by_fin = HashMap::with_capacity(count);
        let mut by_phone = HashMap::with_capacity(count);
        while people.len() < count {
            let fin: String = (0..7).map(|_| *rng.pick(FIN_ALPHABET) as char).collect();
            let phone = {
                let (prefix, _) = rng.pick(MOBILE_PREFIXES);
                format!("+994{prefix}{:07}", 2_000_000 + rng.below(7_999_999))
            };
            if by_fin.contains_key(&fin) || by_phone.contains_key(&phone) {
                continue; // drawn twice: draw again (the sequence stays deterministic)
            }
            let female = rng.below(2) == 1;
            let (first_name, _, _) = *rng.pick(if female { FEMALE_NAMES } else { MALE_NAMES });
            let (father, _, _) = *rng.pick(MALE_NAMES);
            let family = rng.pick(FAMILY_NAMES);
            let birth_year = 1940 + rng.below(68) as i32;
            let month = 1 + rng.below(12) as u8;
            let day = 1 + rng.below(28) as u8;
            let region = rng.below(PLACES.len() as u64) as usize;
            let (town, districts) = PLACES[region];
            let district = rng.pick(districts);
            let street = rng.pick(STREETS);
            let house = 1 + rng.below(180);
            let flat = rng.below(3) > 0;
            let address = if flat {
                format!("{town}, {district}, {street} {house}, m. {}", 1 + rng.below(120))
            } else {
                format!("{town}, {district}, {street} {house}")
            };
            let index = people.len();
            by_fin.insert(fin.clone(), index);
            by_phone.insert(phone.clone(), index);
            people.push(Person {
                fin,
                first_name,
                last_name: if female { format!("{family}a") } else { (*family).to_owned() },
                patronymic: format!("{father} {}", if female { "qızı" } else { "oğlu" }),
                gender: if female { 'F' } else { 'M' },
                birth_date: format!("{birth_year:04}-{month:02}-{day:02}"),
                birth_year,
                address,
                region,
                phone,
                trait_bits: rng.next_u64(),
            });
        }
        Self { people, by_fin, by_phone }
    }

    /// The person with this FIN (case-insensitive).
    pub fn by_fin(&self, fin: &str) -> Option<&Person> {
        self.by_fin.get(&fin.trim().to_ascii_uppercase()).map(|&i| &self.people[i])
    }

    /// The person whose mobile number this is (`+994…`, `994…` or `0…`).
    pub fn by_phone(&self, phone: &str) -> Option<&Person> {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let national = digits.strip_prefix("994").or_else(|| digits.strip_prefix('0')).unwrap_or(&digits);
        self.by_phone.get(&format!("+994{national}")).map(|&i| &self.people[i])
    }

    /// The index of a person in [`Population::people`].
    pub fn index_of(&self, fin: &str) -> Option<usize> {
        self.by_fin.get(&fin.trim().to_ascii_uppercase()).copied()
    }
}

/// The mobile operator of a number.
pub fn operator_of(phone: &str) -> Option<&'static str> {
    let national = phone.strip_prefix("+994")?;
    MOBILE_PREFIXES.iter().find(|(p, _)| national.starts_with(p)).map(|(_, o)| *o)
}

/// Luhn check digit of a 14-digit IMEI body.
pub fn luhn_digit(body: &str) -> Option<u32> {
    let mut sum = 0;
    for (i, c) in body.chars().rev().enumerate() {
        let mut d = c.to_digit(10)?;
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    Some((10 - sum % 10) % 10)
}

/// Whether `imei` is 15 digits with a valid check digit.
pub fn valid_imei(imei: &str) -> bool {
    imei.len() == 15
        && imei.bytes().all(|b| b.is_ascii_digit())
        && luhn_digit(&imei[..14]) == imei[14..].parse::<u32>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_population_is_large_unique_and_reproducible() {
        let a = Population::generate(DEMO_SEED, DEMO_POPULATION);
        assert_eq!(a.people.len(), 100_000);
        assert_eq!(a.by_fin.len(), 100_000, "FINs are unique");
        assert_eq!(a.by_phone.len(), 100_000, "phone numbers are unique");
        let b = Population::generate(DEMO_SEED, 1000);
        assert_eq!(a.people[..1000], b.people[..], "same seed, same people");
        let other = Population::generate(DEMO_SEED + 1, 10);
        assert_ne!(other.people[0], a.people[0]);
        let p = &a.people[0];
        assert_eq!(a.by_fin(&p.fin.to_lowercase()), Some(p));
        assert_eq!(a.by_phone(&p.phone.replace("+994", "0")), Some(p));
        assert!(p.fin.len() == 7 && p.fin.bytes().all(|b| FIN_ALPHABET.contains(&b)));
        let women = a.people.iter().filter(|p| p.gender == 'F').collect::<Vec<_>>();
        assert!(women.iter().all(|w| w.last_name.ends_with('a') && w.patronymic.ends_with("qızı")));
        assert!((45_000..55_000).contains(&women.len()));
    }

    #[test]
    fn imei_check_digits() {
        assert!(valid_imei("490154203237518"));
        assert!(!valid_imei("490154203237517"));
        assert!(!valid_imei("49015420323751"));
    }
}
