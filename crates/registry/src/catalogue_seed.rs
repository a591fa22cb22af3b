//! E-services to fill the registry: the services the seed bulletins name (B-2), with their
//! providers and, where the demo federation offers one, the gateway service they use; and
//! generated services for scale (the portal must stay fast with over a thousand). Generated
//! ones are deterministic and say so in their legal basis.

use crate::model::*;

/// The bulletins' services (B-2): name (az, en, ru), provider body, area, kind, the demo's
/// gateway service, fee in AZN.
#[allow(clippy::type_complexity)]
const NAMED: &[(&str, &str, &str, &str, u8, Option<&str>, Option<f64>)] = &[
    (
        "FİN üzrə şəxsi məlumatların əldə edilməsi",
        "Personal data by FIN",
        "Личные данные по ФИН",
        "2",
        8,
        Some("AZ/GOV/1400000002/population-registry/getPersonByFin/v1"),
        None,
    ),
    (
        "Sığortaolunanın onlayn qeydiyyatı",
        "Online registration of an insured person",
        "Онлайн-регистрация застрахованного лица",
        "21",
        22,
        Some("AZ/GOV/1400000003/insurance/registerInsuredPerson/v1"),
        None,
    ),
    (
        "Pensiya kalkulyatoru",
        "Pension calculator",
        "Пенсионный калькулятор",
        "21",
        22,
        Some("AZ/GOV/1400000003/insurance/getPensionCapital/v1"),
        None,
    ),
    (
        "Sığortaolunanın ödənişləri haqqında məlumat",
        "Insured person's payments by year",
        "Сведения о платежах застрахованного лица",
        "21",
        22,
        Some("AZ/GOV/1400000003/insurance/getInsuredPayments/v1"),
        None,
    ),
    (
        "Yol hərəkəti qaydalarının pozulmasına görə cərimələr və ballar",
        "Traffic fines and penalty points",
        "Штрафы и баллы за нарушения ПДД",
        "1",
        9,
        Some("AZ/GOV/1400000004/traffic-police/getTrafficFines/v1"),
        None,
    ),
    (
        "Mobil cihazların IMEI kodlarının qeydiyyatı",
        "IMEI registration of mobile devices",
        "Регистрация IMEI мобильных устройств",
        "10",
        19,
        Some("AZ/GOV/1400000005/imei-registry/registerImei/v1"),
        Some(2.0),
    ),
    (
        "IMEI kodunun yoxlanılması",
        "IMEI check",
        "Проверка IMEI",
        "10",
        19,
        Some("AZ/GOV/1400000005/imei-registry/checkImei/v1"),
        None,
    ),
    (
        "Nömrə üzrə axtarış",
        "Search by phone number",
        "Поиск по номеру телефона",
        "10",
        19,
        Some("AZ/GOV/1400000005/imei-registry/searchByPhone/v1"),
        None,
    ),
    (
        "Su borcunun yoxlanılması",
        "Water debt lookup",
        "Проверка задолженности за воду",
        "30",
        12,
        Some("AZ/GOV/1400000006/billing/getWaterDebt/v1"),
        None,
    ),
    (
        "Əlillik statusu haqqında məlumat",
        "Disability status",
        "Сведения о статусе инвалидности",
        "6",
        22,
        Some("AZ/GOV/1400000007/disability-registry/getDisabilityStatus/v1"),
        None,
    ),
    (
        "Daşınmaz əmlak reyestrindən çıxarış",
        "Real-estate register extract",
        "Выписка из реестра недвижимости",
        "17",
        6,
        Some("AZ/GOV/1400000008/real-estate-registry/getRealEstateExtract/v1"),
        Some(2.0),
    ),
    (
        "İpoteka qeydiyyatı üçün ərizə",
        "Application for mortgage registration",
        "Заявление на регистрацию ипотеки",
        "17",
        6,
        None,
        Some(10.0),
    ),
    (
        "Azərbaycan adları haqqında məlumat",
        "Information on Azerbaijani names",
        "Сведения об азербайджанских именах",
        "2",
        8,
        Some("AZ/GOV/1400000002/population-registry/getNameInfo/v1"),
        None,
    ),
];

/// Actions of generated services: (az, en, ru) templates around an object.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("{} haqqında arayışın verilməsi", "Certificate on {}", "Справка: {}"),
    ("{} üzrə ərizənin qəbulu", "Application: {}", "Приём заявления: {}"),
    ("{} reyestrindən çıxarış", "Register extract: {}", "Выписка из реестра: {}"),
    ("{} üzrə xüsusi razılığın (lisenziyanın) verilməsi", "Licence: {}", "Лицензия: {}"),
    ("{} üzrə lisenziyanın yenilənməsi", "Licence renewal: {}", "Продление лицензии: {}"),
    ("{} üzrə məlumatın əldə edilməsi", "Information: {}", "Получение сведений: {}"),
    ("{} üzrə şikayətin qəbulu", "Complaint: {}", "Приём жалобы: {}"),
    ("{} üzrə növbəyə yazılma", "Appointment booking: {}", "Запись в очередь: {}"),
    ("{} üzrə sənədin dublikatının verilməsi", "Duplicate document: {}", "Дубликат документа: {}"),
    ("{} üzrə qeydiyyatdan çıxarılma", "Deregistration: {}", "Снятие с учёта: {}"),
    ("{} üzrə qeydiyyat", "Registration: {}", "Регистрация: {}"),
    ("{} üzrə müraciətin statusu", "Application status: {}", "Статус обращения: {}"),
    ("{} üzrə hesabatın təqdim edilməsi", "Report submission: {}", "Подача отчёта: {}"),
    ("{} üzrə ödənişin yoxlanılması", "Payment check: {}", "Проверка оплаты: {}"),
    ("{} üzrə icazənin verilməsi", "Permit: {}", "Разрешение: {}"),
    ("{} üzrə məsləhət", "Consultation: {}", "Консультация: {}"),
    ("{} üzrə sorğu", "Enquiry: {}", "Запрос: {}"),
    ("{} üzrə reytinq və statistika", "Statistics: {}", "Статистика: {}"),
    ("{} üzrə elektron kabinet", "Personal account: {}", "Личный кабинет: {}"),
    ("{} üzrə bildirişlərə abunə", "Notifications: {}", "Подписка на уведомления: {}"),
    ("{} üzrə onlayn müraciət", "Online request: {}", "Онлайн-обращение: {}"),
];

/// Objects of generated services: (az, en, ru, area, provider body).
const OBJECTS: &[(&str, &str, &str, u8, &str)] = &[
    ("nikahın dövlət qeydiyyatı", "marriage registration", "государственная регистрация брака", 8, "2"),
    ("doğumun dövlət qeydiyyatı", "birth registration", "регистрация рождения", 8, "2"),
    ("notariat hərəkətləri", "notarial acts", "нотариальные действия", 8, "2"),
    ("qeyri-kommersiya təşkilatları", "non-commercial organisations", "некоммерческие организации", 8, "2"),
    ("hüquqi aktlar", "legal acts", "правовые акты", 8, "2"),
    ("sahibkarlıq yoxlamaları", "business inspections", "проверки предпринимательства", 21, "2"),
    ("vergi ödəyicisinin uçotu", "taxpayer registration", "учёт налогоплательщика", 28, "4"),
    ("ƏDV əvəzləşdirilməsi", "VAT refund", "возврат НДС", 28, "4"),
    ("vergi borcu", "tax debt", "налоговая задолженность", 28, "4"),
    ("elektron qaimə-faktura", "electronic invoice", "электронная счёт-фактура", 28, "4"),
    ("ünvanlı sosial yardım", "targeted social assistance", "адресная социальная помощь", 22, "6"),
    ("sosial müavinət", "social allowance", "социальное пособие", 22, "6"),
    ("işsizlikdən sığorta", "unemployment insurance", "страхование по безработице", 5, "6"),
    ("vakansiyalar", "job vacancies", "вакансии", 5, "6"),
    ("əmək müqaviləsi bildirişi", "employment contract notice", "уведомление о трудовом договоре", 5, "6"),
    ("muzey eksponatları", "museum exhibits", "музейные экспонаты", 16, "7"),
    ("turizm agentlikləri", "tourism agencies", "туристические агентства", 16, "7"),
    ("məktəbə qəbul", "school admission", "приём в школу", 26, "8"),
    ("attestat", "school certificate", "аттестат", 26, "8"),
    ("ali təhsil diplomu", "higher education diploma", "диплом о высшем образовании", 26, "8"),
    ("tibbi müayinə", "medical examination", "медицинский осмотр", 20, "9"),
    ("həkim qəbulu", "doctor's appointment", "приём у врача", 20, "9"),
    ("peyvənd kartı", "vaccination record", "карта прививок", 20, "9"),
    ("sərnişin daşımaları", "passenger transport", "пассажирские перевозки", 18, "10"),
    ("yük daşımaları", "freight transport", "грузовые перевозки", 18, "10"),
    ("kənd təsərrüfatı subsidiyası", "agricultural subsidy", "сельскохозяйственная субсидия", 11, "12"),
    ("fermer təsərrüfatı", "farm", "фермерское хозяйство", 11, "12"),
    ("tikinti icazəsi", "building permit", "разрешение на строительство", 2, "13"),
    ("layihə sənədləri", "design documents", "проектная документация", 2, "13"),
    ("məcburi köçkün statusu", "IDP status", "статус вынужденного переселенца", 14, "14"),
    ("gömrük bəyannaməsi", "customs declaration", "таможенная декларация", 7, "15"),
    ("gömrük rüsumları", "customs duties", "таможенные пошлины", 7, "15"),
    ("torpaq sahəsi", "land plot", "земельный участок", 27, "16"),
    ("kadastr xəritəsi", "cadastral map", "кадастровая карта", 27, "16"),
    ("daşınmaz əmlak", "real estate", "недвижимость", 6, "17"),
    ("ünvan reyestri", "address register", "адресный реестр", 6, "17"),
    ("uşaq hüquqları", "children's rights", "права детей", 1, "18"),
    ("statistik hesabat", "statistical report", "статистический отчёт", 24, "19"),
    ("ölçmə vasitələri", "measuring instruments", "средства измерений", 23, "20"),
    ("uyğunluq sertifikatı", "certificate of conformity", "сертификат соответствия", 23, "20"),
    ("pensiya", "pension", "пенсия", 22, "21"),
    ("dövlət qulluğuna qəbul", "civil service recruitment", "приём на государственную службу", 4, "22"),
    ("yaşamaq icazəsi", "residence permit", "вид на жительство", 29, "23"),
    ("iş icazəsi", "work permit", "разрешение на работу", 29, "23"),
    ("müəllif hüquqları", "copyright", "авторские права", 8, "24"),
    ("dövlət satınalmaları", "public procurement", "государственные закупки", 15, "25"),
    ("bərpa olunan enerji", "renewable energy", "возобновляемая энергия", 25, "26"),
    ("gəmi reyestri", "ship register", "судовой реестр", 18, "27"),
    ("uçuş icazəsi", "flight permit", "разрешение на полёт", 18, "28"),
    ("arxiv arayışı", "archive reference", "архивная справка", 16, "29"),
    ("elektrik enerjisi abunəçisi", "electricity subscriber", "абонент электроэнергии", 12, "31"),
    ("qaz abunəçisi", "gas subscriber", "абонент газа", 12, "33"),
];

fn regulation(name: &Text, provider: &str, automation: Automation) -> Regulation {
    Regulation {
        automation,
        execution_time: "3 iş günü".into(),
        result: Text {
            az: format!("{} — nəticə", name.az),
            en: "The decision or document requested".into(),
            ru: "Запрошенное решение или документ".into(),
        },
        information_channels: vec!["e-gov.az".into(), "çağrı mərkəzi 108".into()],
        documents: vec![RequiredDocument {
            name: Text {
                az: "Şəxsiyyət vəsiqəsi".into(),
                en: "Identity card".into(),
                ru: "Удостоверение личности".into(),
            },
            source: DocumentSource::StateSystem { system: "2.1".into(), identifier: "FİN".into() },
        }],
        request: Text {
            az: "Sorğu portalda elektron forma ilə göndərilir və avtomatik qeydə alınır".into(),
            en: "The request is sent by the electronic form on the portal and registered automatically".into(),
            ru: "Запрос подаётся электронной формой на портале и регистрируется автоматически".into(),
        },
        refusal_grounds: vec![Text {
            az: "Təqdim edilən məlumatlar natamam və ya yanlışdır".into(),
            en: "The information given is incomplete or wrong".into(),
            ru: "Представленные сведения неполны или неверны".into(),
        }],
        steps: vec![
            Step {
                action: Text {
                    az: "Sorğunun qəbulu və yoxlanılması".into(),
                    en: "Request received and checked".into(),
                    ru: "Приём и проверка запроса".into(),
                },
                responsible: format!("{provider} — müraciətlərlə iş şöbəsi"),
                deadline: "1 iş günü".into(),
                other_bodies: vec![],
            },
            Step {
                action: Text {
                    az: "Qərarın qəbulu və nəticənin göndərilməsi".into(),
                    en: "Decision taken and result sent".into(),
                    ru: "Принятие решения и отправка результата".into(),
                },
                responsible: format!("{provider} — aidiyyəti struktur bölmə"),
                deadline: "2 iş günü".into(),
                other_bodies: vec![],
            },
        ],
        control: Text {
            az: "Qurumun daxili nəzarət şöbəsi".into(),
            en: "The body's internal control unit".into(),
            ru: "Отдел внутреннего контроля органа".into(),
        },
        complaints: Complaints {
            procedure: Text {
                az: "Qurumun rəhbərliyinə və ya məhkəməyə".into(),
                en: "To the body's management or to a court".into(),
                ru: "Руководству органа или в суд".into(),
            },
            deadline: "1 ay".into(),
        },
    }
}

/// The services the bulletins name (B-2).
pub fn named_services() -> Vec<ServiceRecord> {
    NAMED
        .iter()
        .map(|&(az, en, ru, provider, area, xroad, fee)| {
            let name = Text { az: az.into(), en: en.into(), ru: ru.into() };
            ServiceRecord {
                provider: provider.into(),
                other_executors: vec![],
                content: Text {
                    az: format!("{az} elektron qaydada"),
                    en: format!("{en}, online"),
                    ru: format!("{ru} в электронном виде"),
                },
                legal_basis: "Nazirlər Kabinetinin 2011-ci il 24 noyabr tarixli 191 nömrəli qərarı".into(),
                kind: if xroad.is_some() { ServiceKind::Interactive } else { ServiceKind::Informative },
                fee: fee.map(|amount_azn| Fee {
                    amount_azn,
                    legal_basis: "Dövlət rüsumu haqqında Azərbaycan Respublikasının Qanunu".into(),
                    bank_details: "Dövlət Xəzinədarlıq Agentliyi, hesab AZ00CTRE00000000000000000000".into(),
                    payment_methods: vec!["bank kartı".into(), "ödəniş terminalı".into()],
                }),
                users: vec![UserType::NaturalPersons, UserType::LegalPersons],
                web_address: format!("https://www.e-gov.az/az/services/{}", az.len()),
                area,
                xroad_service: xroad.map(str::to_owned),
                regulation: regulation(
                    &name,
                    provider,
                    if xroad.is_some() { Automation::Full } else { Automation::Partial },
                ),
                name,
            }
        })
        .collect()
}

/// `count` generated services (object × action), deterministic.
pub fn generated_services(count: usize) -> Vec<ServiceRecord> {
    let mut out = Vec::with_capacity(count);
    'outer: for (k, (a_az, a_en, a_ru)) in ACTIONS.iter().enumerate() {
        for (i, (o_az, o_en, o_ru, area, provider)) in OBJECTS.iter().enumerate() {
            if out.len() >= count {
                break 'outer;
            }
            let name =
                Text { az: a_az.replace("{}", o_az), en: a_en.replace("{}", o_en), ru: a_ru.replace("{}", o_ru) };
            let n = k * OBJECTS.len() + i;
            let users = match n % 4 {
                0 => vec![UserType::NaturalPersons],
                1 => vec![UserType::LegalPersons],
                2 => vec![UserType::NaturalPersons, UserType::LegalPersons],
                _ => vec![UserType::StateBodies, UserType::Others],
            };
            out.push(ServiceRecord {
                provider: (*provider).into(),
                other_executors: vec![],
                content: Text {
                    az: format!("{}: elektron xidmət", name.az),
                    en: format!("{}: an electronic service", name.en),
                    ru: format!("{}: электронная услуга", name.ru),
                },
                legal_basis: "Generated for the demo catalogue (not a real service)".into(),
                kind: ServiceKind::Informative,
                fee: n.is_multiple_of(7).then(|| Fee {
                    amount_azn: (1 + n % 20) as f64,
                    legal_basis: "Dövlət rüsumu haqqında Azərbaycan Respublikasının Qanunu".into(),
                    bank_details: "Dövlət Xəzinədarlıq Agentliyi".into(),
                    payment_methods: vec!["bank kartı".into()],
                }),
                users,
                web_address: format!("https://www.e-gov.az/az/services/generated/{n}"),
                area: *area,
                xroad_service: None,
                regulation: regulation(
                    &name,
                    provider,
                    if n.is_multiple_of(3) { Automation::Full } else { Automation::Partial },
                ),
                name,
            });
        }
    }
    out
}

/// Demo usage for `months` (`YYYY-MM`): a long tail, the bulletins' services (the first
/// ones loaded) used most, deterministic. (service, month, uses) for each.
pub fn demo_usage(numbers: &[String], months: &[&str]) -> Vec<(String, String, i64)> {
    let mut out = Vec::with_capacity(numbers.len() * months.len());
    for (m, month) in months.iter().enumerate() {
        for (i, n) in numbers.iter().enumerate() {
            // Zipf-like: the i-th service is used about 40,000 / (i + 1) times a month
            let mix = (i as u64 + 1).wrapping_mul(0x9E37_79B9).wrapping_add(m as u64 * 7919) % 1000;
            let uses = 40_000 / (i as i64 + 1) + (mix as i64 % 300);
            out.push((n.clone(), (*month).to_owned(), uses));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_services_are_valid_and_enough() {
        let named = named_services();
        assert!(named.iter().all(|s| s.validate().is_ok()));
        let generated = generated_services(1000);
        assert_eq!(generated.len(), 1000);
        assert!(generated.iter().all(|s| s.validate().is_ok()));
        assert_eq!(generated_services(1000), generated, "deterministic");
        assert!(ACTIONS.len() * OBJECTS.len() >= 1000);
    }
}
